"""The config key table and what is made from it (issue 13): --dump-config
is a valid file of every default, conf/churnwatch.conf mentions every key
and no other, churnwatch.conf(5) is what tools/gen-conf-man writes from
the table, and both man pages render without warnings."""

import os
import re
import subprocess
import tempfile

from lib import ROOT, check, eq, run_cli

HEADER = re.compile(r"^[#;]?\s*\[([^\]\s]+)\]\s*$")
KEY = re.compile(r"^([#;]?)\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=")


def dump():
    rc, out, err = run_cli("--dump-config")
    eq(rc, 0, "--dump-config exit status (stderr %r)" % err)
    return out


def table(text):
    """{section: [keys]} of a --dump-config text; named sections keep
    their ':NAME', dotted keys their '.FIELD'."""
    sections, cur = {}, None
    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            cur = sections.setdefault(m.group(1), [])
            continue
        if line.startswith("# ") or line.startswith("## "):
            continue
        m = KEY.match(line)
        if m and cur is not None:
            cur.append(m.group(2))
    return sections


def generic(section):
    """'token:backend' -> 'token:NAME'."""
    return section.split(":")[0] + ":NAME" if ":" in section else section


def placeholder(key):
    """The dump's name of a dotted key: pointer.ticket_id -> pointer.FIELD."""
    for prefix, word in (("type_map.", "TYPE"), ("pointer.", "FIELD"),
                         ("default.", "FIELD"), ("voice_phrases.", "CLASS")):
        if key.startswith(prefix):
            return prefix + word
    return key


def test_dump_config_is_every_default():
    text = dump()
    rc, out, err = run_cli("--help")
    check("--dump-config" in out, "--help names --dump-config:\n%s" % out)
    check("\n[server]\nlisten = " not in text, "sections have help")
    sections = table(text)
    for want in ("server", "database", "token:NAME", "receiver:NAME",
                 "route:NAME", "source:NAME", "signal:NAME",
                 "signal:login_absent", "digest", "segment"):
        check(want in sections, "--dump-config has [%s]" % want)
    check("pointer.FIELD" in sections["source:NAME"],
          "the dotted keys are in the dump")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dump.conf")
        with open(path, "w") as f:
            f.write(text)
        rc, out, err = run_cli("--config", path, "--check-config")
        eq(rc, 0, "--check-config of the dump (stderr %r)" % err)


def test_example_config_covers_the_table():
    """Every key of the table is mentioned in conf/churnwatch.conf: set
    or commented out ("key =", "#key =") in its section, or described
    ("#   key = ...") in the prose just before the section's header; and
    every key written there is one of the table."""
    sections = table(dump())
    with open(os.path.join(ROOT, "conf", "churnwatch.conf")) as f:
        conf = f.read()
    seen, cur, prose = {}, None, []
    unknown = []

    def mention(sec, n, key):
        k = placeholder(key)
        if k not in sections.get(sec, []) + sections.get(generic(sec), []):
            unknown.append("%d: %s in [%s]" % (n, key, sec))
        seen.setdefault(generic(sec), set()).add(k)
        seen.setdefault(sec, set()).add(k)

    for n, line in enumerate(conf.splitlines(), 1):
        m = HEADER.match(line)
        if m:
            cur = m.group(1)
            check(cur in sections or generic(cur) in sections,
                  "conf/churnwatch.conf:%d: [%s] is no section of the "
                  "table" % (n, cur))
            for pn, key in prose:
                mention(cur, pn, key)
            prose = []
            continue
        m = re.match(r"^#\s+([A-Za-z_][A-Za-z0-9_.]*) = ", line)
        if m:
            prose.append((n, m.group(1)))
            continue
        m = KEY.match(line)
        if m and cur is not None:
            mention(cur, n, m.group(2))
    check(not unknown, "conf/churnwatch.conf names keys the table does not "
          "have:\n  " + "\n  ".join(unknown))
    missing = []
    for sec, keys in sections.items():
        for key in keys:
            # A signal's common keys are those of [signal:NAME]: told
            # once for all of them.
            if key in sections.get(generic(sec), []) and \
                    key in seen.get(generic(sec), set()):
                continue
            if key not in seen.get(sec, set()):
                missing.append("[%s] %s" % (sec, key))
    check(not missing, "conf/churnwatch.conf does not mention:\n  " +
          "\n  ".join(missing))


def test_conf_man_page_is_generated_from_the_table():
    text = dump()
    gen = subprocess.run(["python3", os.path.join(ROOT, "tools",
                                                  "gen-conf-man")],
                         input=text, capture_output=True, text=True,
                         timeout=60)
    eq(gen.returncode, 0, "gen-conf-man status (stderr %r)" % gen.stderr)
    with open(os.path.join(ROOT, "man", "churnwatch.conf.5")) as f:
        page = f.read()
    missing = []
    for sec, keys in table(text).items():
        if ".SS [%s]\n" % sec.replace("-", "\\-") not in page:
            missing.append("[%s]" % sec)
        for key in keys:
            if (".B %s\n" % key.replace("-", "\\-") not in page and
                    not re.search(r"Defaults:.*\b%s\b" % re.escape(key),
                                  page)):
                missing.append("[%s] %s" % (sec, key))
    check(not missing, "man/churnwatch.conf.5 lacks:\n  " +
          "\n  ".join(missing))
    check(gen.stdout == page, "man/churnwatch.conf.5 is not what the key "
          "table makes; run: build/normal/churnwatchd --dump-config | "
          "tools/gen-conf-man > man/churnwatch.conf.5")


def test_man_pages_render_without_warnings():
    rc, helptext, err = run_cli("--help")
    for page in ("churnwatchd.8", "churnwatch.conf.5"):
        path = os.path.join(ROOT, "man", page)
        g = subprocess.run(["groff", "-ww", "-z", "-man", path],
                           capture_output=True, text=True, timeout=60)
        eq((g.returncode, g.stderr), (0, ""), "groff -ww -z -man %s" % page)
        env = dict(os.environ, MANWIDTH="80")
        m = subprocess.run(["man", "-l", "-Tutf8", path], env=env,
                           capture_output=True, timeout=60)
        eq(m.returncode, 0, "man -l %s status (%r)" % (page, m.stderr))
        eq(m.stderr, b"", "man -l %s warnings" % page)
        check(len(m.stdout) > 1000, "man -l %s renders" % page)
    with open(os.path.join(ROOT, "man", "churnwatchd.8")) as f:
        src = f.read().replace("\\-", "-")
    for opt in re.findall(r"(--[a-z][a-z-]+)", helptext):
        check(opt in src, "churnwatchd(8) documents %s" % opt)
