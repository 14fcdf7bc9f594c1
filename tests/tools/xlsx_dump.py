"""Reads an .xlsx with openpyxl (an independent reader) and prints every sheet as JSON:
[{"name", "freeze", "autofilter", "rows": [[{"v": value, "t": data_type, "f": number_format}]]}].
Dates become ISO text; numbers stay numbers."""
import datetime
import json
import sys

import openpyxl

wb = openpyxl.load_workbook(sys.argv[1])
out = []
for ws in wb.worksheets:
    rows = []
    for row in ws.iter_rows():
        cells = []
        for c in row:
            v = c.value
            if isinstance(v, (datetime.date, datetime.datetime)):
                v = v.isoformat()
            cells.append({"v": v, "t": c.data_type, "f": c.number_format, "date": c.is_date})
        rows.append(cells)
    out.append({
        "name": ws.title,
        "freeze": ws.freeze_panes,
        "autofilter": ws.auto_filter.ref,
        "rows": rows,
    })
print(json.dumps(out, ensure_ascii=False))
