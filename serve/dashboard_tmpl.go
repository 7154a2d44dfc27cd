package serve

import "html/template"

// dashboardCSS is the page's only style, inline (no external asset); the
// Content-Security-Policy names it by its SHA-256, so it must be the exact
// text of the <style> element.
const dashboardCSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.3em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.6em 0 .4em}
.sub{color:#666;margin:0 0 1em}
table{border-collapse:collapse;background:#fff;margin:.2em 0}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right}
td.w{word-break:break-all;max-width:32em}
.cards{display:flex;flex-wrap:wrap;gap:1em}
.card{background:#fff;border:1px solid #ddd;padding:.6em 1em;min-width:16em}
.big{font-size:1.6em;font-weight:600}
.na{color:#888;font-style:italic}
.bad{color:#b00020}.ok{color:#1b5e20}
svg{vertical-align:middle}
`

const dashboardHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{{.Refresh}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bks serve</title>
<style>` + dashboardCSS + `</style>
</head><body>
<h1>bks serve</h1>
<p class="sub">Read-only. {{time .Now}}; reloads every {{.Refresh}} s. Keys are shown by redacted form and fingerprint, never in full.</p>

<h2>Key performance indicators</h2>
<div class="cards">
<div class="card" id="kpi-active-keys"><div>Active long-term keys</div>
{{if .KPIs}}
<table><tr><th>Account</th><th>Now</th><th>Trend (at each week's end)</th></tr>
{{range .KPIs.ActiveKeys}}<tr><td>{{t .AccountID | dflt "(unknown)"}}</td><td class="n {{if gt .Now 0.0}}bad{{else}}ok{{end}}">{{count .Now}}</td><td>{{template "spark" .Trend}} {{trend "count" .Trend}}</td></tr>
{{else}}<tr><td colspan="3" class="ok">none in any account</td></tr>{{end}}</table>
{{else}}<div class="na">not available{{if .KPIErr}}: {{t .KPIErr}}{{else}} (no key inventory configured){{end}}</div>{{end}}
</div>
<div class="card" id="kpi-mttr"><div>Mean time to remediate (last 8 weeks)</div>
{{if .MTTR.Count}}<div class="big">{{dur .MTTR.Mean}}</div>
<div>{{.MTTR.Count}} key(s) revoked; {{template "spark" .MTTR.Trend}} weekly: {{trend "secs" .MTTR.Trend}}</div>
<table><tr><th>Account</th><th>Revoked</th><th>Mean</th></tr>
{{range .MTTR.PerAccount}}<tr><td>{{t .AccountID | dflt "(unknown)"}}</td><td class="n">{{.Count}}</td><td class="n">{{dur .Mean}}</td></tr>{{end}}</table>
{{else}}<div class="na">no revocation in the last 8 weeks</div>{{end}}
</div>
<div class="card" id="kpi-role-share"><div>Bedrock calls made with IAM roles rather than API keys</div>
{{if .KPIs}}<table><tr><th>Account</th><th>Last 30 days</th><th>Trend (each week's calls)</th></tr>
{{range .KPIs.RoleShare}}<tr><td>{{t .AccountID | dflt "(unknown)"}}</td><td class="n">{{share .Now}}</td><td>{{template "spark" .Trend}} {{trend "share" .Trend}}</td></tr>
{{else}}<tr><td colspan="3" class="na">no Bedrock calls recorded</td></tr>{{end}}</table>
{{else}}<div class="na">not available{{if .KPIErr}}: {{t .KPIErr}}{{else}} (no CloudTrail events configured){{end}}</div>{{end}}
</div>
</div>

<h2>Open incidents by account and severity</h2>
{{if .Matrix.Rows}}<table id="open-matrix"><tr><th>Account</th>{{range .Matrix.Severities}}<th>{{t . | dflt "(none)"}}</th>{{end}}<th>Total</th></tr>
{{range .Matrix.Rows}}<tr><td>{{t .Account | dflt "(unknown)"}}</td>{{range .Counts}}<td class="n">{{.}}</td>{{end}}<td class="n">{{.Total}}</td></tr>
{{end}}</table>
{{else}}<p class="ok">No open incident.</p>{{end}}

{{if .Open}}<h2>Open incidents ({{len .Open}}{{if .OpenMore}} newest; {{.OpenMore}} more{{end}})</h2>
<table id="open-incidents"><tr><th>Key</th><th>Fingerprint</th><th>Account</th><th>Principal</th><th>Severity</th><th>Kind</th><th>Last seen in</th><th>Sightings</th><th>First seen</th><th>Last seen</th></tr>
{{range .Open}}<tr><td class="w">{{t .Redacted}}</td><td>{{fp .Fingerprint}}</td><td>{{t .AccountID}}</td><td class="w">{{t .Principal}}</td><td>{{t .Severity}}</td><td>{{t .KeyKind}}</td><td class="w">{{t .Repository}}{{if .Path}}: {{t .Path}}:{{.Line}}{{end}}</td><td class="n">{{.Findings}}</td><td>{{time .FirstSeen}}</td><td>{{time .LastSeen}}</td></tr>
{{end}}</table>{{end}}

<h2>Recent actions</h2>
{{if .Actions}}<table id="actions"><tr><th>When</th><th>What</th><th>Key</th><th>Fingerprint</th><th>Account</th><th>Result</th><th>Detail</th></tr>
{{range .Actions}}<tr><td>{{time .At}}</td><td>{{t .Kind}}</td><td class="w">{{t .Redacted}}</td><td>{{fp .Fingerprint}}</td><td>{{t .AccountID}}</td><td>{{t .Result}}</td><td class="w">{{t .Detail}}</td></tr>
{{end}}</table>{{else}}<p class="na">No action taken yet.</p>{{end}}

<h2>Deliveries and jobs</h2>
<p id="queue">Jobs: {{range $k, $v := .Jobs}}{{t $k}} {{$v}}; {{else}}none; {{end}}deliveries: {{range $k, $v := .Deliveries}}{{t $k}} {{$v}}; {{else}}none.{{end}}</p>
{{if .Recent}}<table id="deliveries"><tr><th>Received</th><th>Delivery</th><th>Event</th><th>Status</th><th>Job</th><th>Attempts</th><th>Processed</th><th>Last error</th></tr>
{{range .Recent}}<tr><td>{{time .ReceivedAt}}</td><td class="w">{{t .ID}}</td><td>{{t .Event}}</td><td>{{t .Status}}</td><td>{{t .JobState}}</td><td class="n">{{.Attempts}}</td><td>{{time .ProcessedAt}}</td><td class="w">{{t .LastError}}</td></tr>
{{end}}</table>{{end}}

<h2>Live long-term keys</h2>
{{if .KPIs}}{{if .KPIs.LiveKeys}}<table id="live-keys"><tr><th>Account</th><th>User</th><th>Key id</th><th>Kind</th><th>Created</th></tr>
{{range .KPIs.LiveKeys}}<tr><td>{{t .AccountID}}</td><td class="w">{{t .User}}</td><td class="w">{{t .KeyID}}</td><td>{{t .Kind}}</td><td>{{time .Created}}</td></tr>
{{end}}</table>{{else}}<p class="ok">None.</p>{{end}}
{{else}}<p class="na">not available{{if .KPIErr}}: {{t .KPIErr}}{{else}} (no key inventory configured){{end}}</p>{{end}}
</body></html>
{{define "spark"}}<svg width="100" height="20" viewBox="0 0 100 20" role="img" aria-label="trend"><polyline fill="none" stroke="#555" stroke-width="1.5" points="{{spark .}}"/></svg>{{end}}`

var dashboardPage = template.Must(template.New("dashboard").Funcs(dashboardFuncs).Parse(dashboardHTML))
