"""Reports: docs/FINDINGS.md written from the shipped models' analyses (`translit findings`).

    findings.py    `write_findings` and the sections on the base model, one function a section
    units.py       the sections on gate saturation and unit clusters
    twin.py        the section on the interpretability twins against their controls
"""
