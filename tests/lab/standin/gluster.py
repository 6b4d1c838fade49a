"""Stand-in for the C(gluster) CLI in tests: ``volume info [--xml]`` and ``[--mode=script] volume set VOL OPT VAL``
over volumes kept in a JSON state file (GLUSTER_STANDIN_STATE, default /var/lib/gluster-standin/volumes.json):
``{"VOL": {"status": "Started", "type": "Replicate", "replica": 3, "arbiter": 0, "bricks": [...],
"options": {...}}}``. The XML has the layout of the real ``gluster volume info --xml``.
"""
from __future__ import annotations

import json
import os
import sys
from xml.sax.saxutils import escape

STATE = os.environ.get("GLUSTER_STANDIN_STATE", "/var/lib/gluster-standin/volumes.json")


def load() -> dict:
    with open(STATE, encoding="utf-8") as stream:
        return json.load(stream)


def info_xml(volumes: dict) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>', "<cliOutput>", "  <opRet>0</opRet>",
           "  <opErrno>0</opErrno>", "  <opErrstr/>", "  <volInfo>", "    <volumes>"]
    for name, vol in volumes.items():
        started = vol.get("status", "Started") == "Started"
        out += ["      <volume>", "        <name>%s</name>" % escape(name),
                "        <status>%d</status>" % (1 if started else 2),
                "        <statusStr>%s</statusStr>" % ("Started" if started else "Stopped"),
                "        <brickCount>%d</brickCount>" % len(vol["bricks"]),
                "        <distCount>1</distCount>",
                "        <replicaCount>%d</replicaCount>" % vol.get("replica", 3),
                "        <arbiterCount>%d</arbiterCount>" % vol.get("arbiter", 0),
                "        <typeStr>%s</typeStr>" % vol.get("type", "Replicate"), "        <bricks>"]
        for brick in vol["bricks"]:
            out.append('          <brick uuid="0">%s<name>%s</name><isArbiter>0</isArbiter></brick>'
                       % (escape(brick), escape(brick)))
        out += ["        </bricks>", "        <optCount>%d</optCount>" % len(vol.get("options", {})),
                "        <options>"]
        for key, value in vol.get("options", {}).items():
            out.append("          <option><name>%s</name><value>%s</value></option>" % (escape(key), escape(value)))
        out += ["        </options>", "      </volume>"]
    out += ["      <count>%d</count>" % len(volumes), "    </volumes>", "  </volInfo>", "</cliOutput>"]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--mode=script"]
    volumes = load()
    if args[:2] == ["volume", "info"]:
        if "--xml" not in args:
            for name, vol in volumes.items():
                print("Volume Name: %s\nStatus: %s\nNumber of Bricks: 1 x %d = %d\n" % (
                    name, vol.get("status", "Started"), vol.get("replica", 3), len(vol["bricks"])))
            return 0
        sys.stdout.write(info_xml(volumes))
        return 0
    if args[:2] == ["volume", "set"] and len(args) == 5:
        name, key, value = args[2:]
        if name not in volumes:
            sys.stderr.write("volume set: failed: Volume %s does not exist\n" % name)
            return 1
        volumes[name].setdefault("options", {})[key] = value
        with open(STATE + ".tmp", "w", encoding="utf-8") as stream:
            json.dump(volumes, stream)
        os.replace(STATE + ".tmp", STATE)
        print("volume set: success")
        return 0
    sys.stderr.write("unrecognized command: %s\n" % " ".join(argv))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
