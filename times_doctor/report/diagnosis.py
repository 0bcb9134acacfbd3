"""The "Diagnosis" section of scan_report.html: what ``times-doctor diagnose`` says, per profile.

Pure: ``render_section(diagnoses, command)`` takes diagnosis.Diagnosis values
(report.page gathers them, through a cache, for the runs that ended) and
returns HTML.  Only profiles with something to say (a warning or worse)
get a block; with none, the section is left out.
"""

import html

from times_doctor.gams.diagnosis import ERROR, INFO, WARNING

_CLASSES = {ERROR: "warn", WARNING: "note", INFO: "ok"}
_LABELS = {ERROR: "blocks a result", WARNING: "worth knowing", INFO: "for information"}


def render_section(diagnoses, command):
    """The section for *diagnoses* (name -> Diagnosis), or "" when nobody has anything to say.

    *command*: the ``times-doctor diagnose ...`` line that prints the same.
    """
    blocks = []
    for name, diagnosis in diagnoses.items():
        shown = [finding for finding in diagnosis.findings if finding.severity != INFO]
        if not shown:
            continue
        # Paths and GAMS names are long unbroken words: let them wrap on a phone.
        parts = ['<div class="diagnosis" data-run="%s" style="overflow-wrap:anywhere"><h3>%s</h3>'
                 % (_esc(name), _esc(name))]
        for finding in shown:
            parts.append('<div class="%s" data-kind="%s"><strong>%s</strong> (%s)'
                         % (_CLASSES[finding.severity], _esc(finding.kind),
                            _esc(finding.title), _LABELS[finding.severity]))
            if finding.lines:
                parts.append("<ul>%s</ul>" % "".join("<li>%s</li>" % _esc(line)
                                                     for line in finding.lines[:40]))
                if len(finding.lines) > 40:
                    parts.append("<p>... %d more lines: see the command below.</p>"
                                 % (len(finding.lines) - 40))
            if finding.fix:
                parts.append("<p>Fix: %s</p>" % _esc(finding.fix))
            parts.append("</div>")
        parts.append("</div>")
        blocks.append("\n".join(parts))
    if not blocks:
        return ""
    return "\n".join(['<section id="diagnosis"><h2>Diagnosis</h2>',
                      "<p>From each profile's listing, run log and QA_CHECK.LOG, most blocking "
                      "first; the same in a terminal: <code>%s</code></p>" % _esc(command)]
                     + blocks + ["</section>"])


def _esc(text):
    return html.escape("" if text is None else str(text))
