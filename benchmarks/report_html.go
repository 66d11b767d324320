package benchmarks

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// plotColors are the systems' line colours in the plots.
var plotColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

const (
	plotW, plotH           = 520.0, 260.0
	padL, padR, padT, padB = 48.0, 16.0, 12.0, 40.0
	plotInnerW, plotInnerH = plotW - padL - padR, plotH - padT - padB
	plotTicks              = 5
	svgOpen                = `<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="520" height="260" viewBox="0 0 520 260" role="img" aria-label="%s">`
	svgTextStyle           = `font-family="sans-serif" font-size="11"`
)

// svgPlot draws solved (y) against a budget (x) as one step line per
// system: the number of problems solved within x.
func svgPlot(id, label, xlabel string, xmax float64, series [][]float64, names []string, ymax int) template.HTML {
	xstep := niceStep(xmax)
	xmax = xstep * math.Max(1, math.Ceil(xmax/xstep))
	ystep := niceStep(float64(ymax))
	ymax = int(ystep * math.Max(1, math.Ceil(float64(ymax)/ystep)))
	X := func(x float64) float64 { return padL + plotInnerW*x/xmax }
	Y := func(y float64) float64 { return padT + plotInnerH*(1-y/float64(ymax)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<figure id="%s">`, id)
	fmt.Fprintf(&b, svgOpen, template.HTMLEscapeString(label))
	// Axes and ticks.
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`, padL, Y(0), X(xmax), Y(0))
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`, padL, Y(0), padL, Y(float64(ymax)))
	for xv := 0.0; xv <= xmax+xstep/2; xv += xstep {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" %s>%s</text>`, X(xv), Y(0)+14, svgTextStyle, tickLabel(xv))
	}
	for yv := 0.0; yv <= float64(ymax)+ystep/2; yv += ystep {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`, padL+1, Y(yv), X(xmax), Y(yv))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" %s>%s</text>`, padL-4, Y(yv)+4, svgTextStyle, tickLabel(yv))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" %s>%s</text>`, padL+plotInnerW/2, plotH-6, svgTextStyle, template.HTMLEscapeString(xlabel))
	fmt.Fprintf(&b, `<text x="12" y="%.1f" text-anchor="middle" transform="rotate(-90 12 %.1f)" %s>solved</text>`, padT+plotInnerH/2, padT+plotInnerH/2, svgTextStyle)
	for i, xs := range series {
		color := plotColors[i%len(plotColors)]
		pts := []string{fmt.Sprintf("%.1f,%.1f", X(0), Y(0))}
		for n, x := range xs {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", X(x), Y(float64(n))), fmt.Sprintf("%.1f,%.1f", X(x), Y(float64(n+1))))
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", X(xmax), Y(float64(len(xs)))))
		fmt.Fprintf(&b, `<polyline class="series" fill="none" stroke="%s" stroke-width="2" points="%s"/>`, color, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/><text x="%.1f" y="%.1f" %s>%s</text>`,
			padL+10, padT+4+float64(i)*14, color, padL+24, padT+13+float64(i)*14, svgTextStyle, template.HTMLEscapeString(names[i]))
	}
	b.WriteString(`</svg>`)
	fmt.Fprintf(&b, `<figcaption>%s</figcaption></figure>`, template.HTMLEscapeString(label))
	return template.HTML(b.String())
}

// niceStep is a tick step of 1, 2 or 5 times a power of ten (at least 1)
// giving at most plotTicks steps up to v.
func niceStep(v float64) float64 {
	if v <= plotTicks {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v/plotTicks)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v/(m*p) <= plotTicks {
			return m * p
		}
	}
	return 10 * p
}

func tickLabel(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// Plots returns the two inline SVG plots: solved vs wall time and solved
// vs expansions.
func (rep *Report) Plots() (wall, expansions template.HTML) {
	var ws, es [][]float64
	var names []string
	ymax := 0
	for _, s := range rep.Systems {
		names = append(names, s.System)
		ws = append(ws, s.ByWall)
		ex := make([]float64, len(s.ByExpansions))
		for i, e := range s.ByExpansions {
			ex[i] = float64(e)
		}
		es = append(es, ex)
		ymax = max(ymax, s.Problems)
	}
	wall = svgPlot("plot-wall", "solved vs wall time per theorem", "wall time (s)", math.Ceil(rep.MaxWallS), ws, names, ymax)
	expansions = svgPlot("plot-expansions", "solved vs expansions per theorem", "expansions", float64(rep.MaxExpansions), es, names, ymax)
	return wall, expansions
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":    func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) },
	"f1":     func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"f2":     func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"join":   strings.Join,
	"stat":   statusLine,
	"counts": func(cs []Count) string { return topCounts(cs, 12) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>miniF2F report</title>
<script>window.__reportErrors=[];window.addEventListener("error",function(e){window.__reportErrors.push(String(e.message))});</script>
<style>
body{font-family:sans-serif;margin:1.5em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}
.proved{color:#186a18;font-weight:bold}.failed,.timeout,.error,.interrupted{color:#a01818}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;margin:.2em 0}
details{margin-left:1em}summary{cursor:pointer}
.tree .edge{font-family:monospace}.tree .onproof{background:#e6f5e6}
.state{white-space:pre-wrap;font-family:monospace;font-size:90%;color:#444}
figure{display:inline-block;margin:0 1em 1em 0}
.warning{color:#8a5a00}.sysinfo th{font-weight:normal;color:#555}
</style>
</head>
<body>
<h1>miniF2F report</h1>
<p>Inputs: {{range $i, $f := .R.Inputs}}{{if $i}}, {{end}}<code>{{$f}}</code>{{end}}</p>
<section id="summary">
<h2>Summary</h2>
<table>
<tr><th>system</th><th>solved</th><th>rate</th><th>95% CI (Wilson)</th><th>attempts</th></tr>
{{range .R.Systems}}<tr class="system"><td>{{.System}}</td><td>{{.Solved}}/{{.Problems}}</td><td>{{pct .Rate}}</td><td>{{pct .Lo}}–{{pct .Hi}}</td><td>{{stat .ByStatus}}</td></tr>
{{end}}</table>
</section>
{{if .R.Warnings}}<section id="warnings">
<h2>Warnings</h2>
<ul>{{range .R.Warnings}}<li class="warning">{{.}}</li>{{end}}</ul>
</section>{{end}}
<section id="systems">
<h2>Systems</h2>
{{range .R.Systems}}<div class="sysinfo"><h3>{{.System}}</h3>
<table>
{{with .Config}}<tr><th>model</th><td>{{.Model}}</td></tr>
{{if .Decoding}}<tr><th>decoding</th><td>{{.Decoding}}</td></tr>{{end}}
{{if .Prompt}}<tr><th>prompt</th><td>{{.Prompt}}</td></tr>{{end}}
<tr><th>budget</th><td>{{.Budget}}</td></tr>
<tr><th>search</th><td>{{.Search}}</td></tr>
<tr><th>checker</th><td>{{.Checker}}</td></tr>
<tr><th>git</th><td>{{join .GitRevisions ", "}}</td></tr>
<tr><th>runs</th><td>{{join .RunIDs ", "}} ({{.Sessions}} sessions on {{.Hosts}} hosts)</td></tr>
{{else}}<tr><th>config</th><td>unknown (no OUT.meta.json)</td></tr>
{{end}}<tr><th>cost</th><td>{{.CostLine}}</td></tr>
{{if .ModelLine}}<tr><th>model cost</th><td>{{.ModelLine}}</td></tr>{{end}}
<tr><th>no proof</th><td class="failures">{{counts .Failures}}</td></tr>
<tr><th>closing tactics</th><td class="closers">{{counts .Closers}}</td></tr>
<tr><th>tactic heads</th><td>{{counts .Tactics}}</td></tr>
</table></div>
{{end}}</section>
<section id="categories">
<h2>By category</h2>
{{range .R.Systems}}<h3>{{.System}}</h3>
<table><tr><th>category</th><th>solved</th><th>95% CI</th></tr>
{{range .Categories}}<tr><td>{{.Category}}</td><td>{{.Solved}}/{{.Total}}</td><td>{{pct .Lo}}–{{pct .Hi}}</td></tr>
{{end}}</table>
{{if .PassAtK}}<table class="passk"><tr><th>k</th><th>pass@k</th></tr>
{{range .PassAtK}}<tr><td>{{.K}}</td><td>{{pct .Value}}</td></tr>
{{end}}</table>{{end}}
{{end}}</section>
<section id="plots">
<h2>Solved vs budget</h2>
{{.Wall}}
{{.Expansions}}
</section>
{{with .R.Cross}}<section id="cross">
<h2>Cross-system</h2>
<p>Proved by all: {{.ByAll}}; by none: {{.ByNone}}.{{range $s := .Systems}} Only {{$s}}: {{index $.R.Cross.OnlyBy $s}}.{{end}}</p>
<table><tr><th>problem</th>{{range .Systems}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{.Split}}/{{.Name}}</td>{{range .Proved}}<td>{{if .}}<span class="proved">proved</span>{{else}}–{{end}}</td>{{end}}</tr>
{{end}}</table>
</section>{{end}}
<section id="problems">
<h2>Problems</h2>
{{range .R.Problems}}<div class="problem" id="p-{{.Split}}-{{.Name}}">
<h3>{{.Split}}/{{.Name}} <small>({{.Category}})</small></h3>
{{range .Cells}}{{if .Status}}<div class="cell">
<p>{{.System}}: <span class="{{.Status}}">{{.Status}}</span> in {{f1 .WallS}} s, {{.Expansions}} expansions{{if gt .Attempts 1}}, {{.Proved}}/{{.Attempts}} attempts proved{{end}}{{if .Error}} — {{.Error}}{{end}}</p>
{{if .FileText}}<details class="proof"><summary>verified proof: {{join .Proof " "}}</summary><pre>{{.FileText}}</pre></details>{{end}}
{{with .Tree}}<div class="tree"><details class="search-tree"><summary>search tree</summary>{{template "node" .}}</details></div>{{end}}
</div>{{end}}{{end}}
</div>
{{end}}</section>
<script>document.body.setAttribute("data-js-errors",String(window.__reportErrors.length));</script>
</body>
</html>
{{define "node"}}<details class="node{{if .OnProof}} onproof{{end}}"{{if .OnProof}} open{{end}}><summary>state {{.ID}} (cost {{f2 .Cost}}){{if not .Expanded}}, not expanded{{end}}</summary>
<div class="state">{{.State}}</div>
{{range .Edges}}{{if .Child}}<details class="edge{{if .OnProof}} onproof{{end}}"{{if .OnProof}} open{{end}}><summary>{{.Tactic}} — {{.Outcome}} (score {{f2 .Score}}, {{f1 .MS}} ms)</summary>{{template "node" .Child}}</details>
{{else}}<div class="edge{{if .OnProof}} onproof{{end}}">{{.Tactic}} — {{.Outcome}} (score {{f2 .Score}}, {{f1 .MS}} ms){{if .Detail}}: {{.Detail}}{{end}}</div>
{{end}}{{end}}</details>{{end}}`))

// WriteHTML writes a self-contained HTML report (inline SVG and CSS, no
// external assets); traces appear as collapsible <details> trees.
func (rep *Report) WriteHTML(w io.Writer) error {
	wall, exp := rep.Plots()
	return reportTmpl.Execute(w, struct {
		R                *Report
		Wall, Expansions template.HTML
	}{rep, wall, exp})
}
