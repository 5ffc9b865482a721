#!/usr/bin/env python3
"""Read INI files with Python's configparser.ConfigParser(), the oracle of SPEC 4.1.

stdin:  {"files": [path, ...], "types": {key: "boolean" | "integer" | "seconds" | "count" | "regex" | other}}
stdout: {path: {"ok": true, "sections": [{"name": s, "values": {key: value}}],
                "typed": {section: {key: value or "error"}}}
         or {"ok": false, "error": "ExceptionType: message"}}
Every value of every section is read (so that interpolation errors surface, as configparser
raises them only on access); typed keys are read with getboolean/getint, regexes compiled.
"""
import configparser
import json
import re
import sys


def read(path, types):
    parser = configparser.ConfigParser()
    try:
        with open(path, encoding="utf-8", newline=None) as f:
            parser.read_file(f, source=path)
        sections = []
        typed = {}
        for name in parser.sections():
            values = {key: parser.get(name, key) for key in parser.options(name)}
            sections.append({"name": name, "values": values})
            typed[name] = {}
            for key, kind in types.items():
                if key not in values or kind not in ("boolean", "integer", "seconds", "count", "regex"):
                    continue
                try:
                    if kind == "boolean":
                        typed[name][key] = parser.getboolean(name, key)
                    elif kind == "integer":
                        typed[name][key] = parser.getint(name, key)
                    elif kind in ("seconds", "count"):
                        typed[name][key] = None if values[key].strip() == "" else parser.getint(name, key)
                    elif kind == "regex":
                        re.compile(values[key])
                        typed[name][key] = values[key]
                except (ValueError, re.error):
                    typed[name][key] = "error"
        return {"ok": True, "sections": sections, "typed": typed}
    except (configparser.Error, UnicodeDecodeError) as e:
        return {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}


def main():
    req = json.load(sys.stdin)
    json.dump({p: read(p, req["types"]) for p in req["files"]}, sys.stdout)


main()
