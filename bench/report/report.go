// Package report renders the sections the benchmarks wrote (bench.Section
// as JSON) into one markdown document, docs/benchmarks.md: the machine it
// ran on, a table per section with ratios and who wins, the command behind
// each section, its notes, and a list of where skywasm loses. It is
// `skywasm-bench report`.
//
// It measures nothing. It refuses, by failing, to let a run pass with a
// figure missing: a section file that cannot be read, or a row without
// skywasm's figure, is listed as a problem and makes Main return an error
// after the document is written.
package report

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/skywasm/skywasm/bench"
)

// ChartDir is where the charts go, relative to the document.
const ChartDir = "bench"

// evenWithin is the relative difference under which neither side is
// said to win: these machines are noisy.
const evenWithin = 0.05

// Host describes the machine the benchmarks ran on.
type Host struct {
	CPU    string // model name
	Cores  int
	RAM    string // e.g. "23.5 GiB"
	Kernel string
	Go     string
	Node   string
}

// Doc is everything one document shows.
type Doc struct {
	Date    time.Time
	Machine string // what the person running it said about the machine
	Host    Host
	// Sections in the order given; a section that could not be read has
	// Err set.
	Sections []Input
}

// Input is one section file as read.
type Input struct {
	File    string
	Section bench.Section
	Err     error
}

// Main runs `skywasm-bench report` with args: -o FILE, -machine TEXT and
// the section files.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("skywasm-bench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "docs/benchmarks.md", "write the document to `file`; - for stdout")
	machine := fs.String("machine", "", "`text` describing the machine, shown in the header")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: skywasm-bench report [-o FILE] [-machine TEXT] SECTION.json...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("report: no section files given")
	}
	doc := Doc{Date: time.Now().UTC(), Machine: *machine, Host: probeHost(ctx)}
	for _, file := range fs.Args() {
		s, err := bench.ReadFile(file)
		doc.Sections = append(doc.Sections, Input{File: file, Section: s, Err: err})
	}
	text, problems := Render(doc)
	if *out == "-" {
		if _, err := io.WriteString(stdout, text); err != nil {
			return fmt.Errorf("report: failed to write the document: %w", err)
		}
	} else {
		if err := writeFile(*out, text); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		// The charts the document links, beside it in bench/.
		dir := filepath.Join(filepath.Dir(*out), ChartDir)
		for _, in := range doc.Sections {
			for _, c := range Charts(in.Section) {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return fmt.Errorf("report: failed to make %s: %w", dir, err)
				}
				if err := writeFile(filepath.Join(dir, c.ID+".svg"), c.SVG()); err != nil {
					return fmt.Errorf("report: chart %s: %w", c.ID, err)
				}
			}
		}
	}
	var fatal []error
	for _, p := range problems {
		fmt.Fprintln(stderr, "skywasm-bench report: problem:", p.Text)
		if p.Fatal {
			fatal = append(fatal, errors.New(p.Text))
		}
	}
	if len(fatal) > 0 {
		return fmt.Errorf("report: %d figure(s) or section(s) missing: %w", len(fatal), errors.Join(fatal...))
	}
	return nil
}

// writeFile replaces path with text whole: a reader never sees half a
// document.
func writeFile(path, text string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("failed to write the document: %w", err)
	}
	_, err = tmp.WriteString(text)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("failed to write the document: %w", err)
	}
	return nil
}

// Problem is something missing from the document. A fatal one is a
// figure skywasm's side should have had, or a section that is not there.
type Problem struct {
	Text  string
	Fatal bool
}

// Render returns the document and its problems.
func Render(doc Doc) (string, []Problem) {
	var (
		b        strings.Builder
		problems []Problem
		losses   []string
	)
	for _, in := range doc.Sections {
		if in.Err != nil {
			problems = append(problems, Problem{fmt.Sprintf("%s: no results: %v", in.File, in.Err), true})
			continue
		}
		s := in.Section
		if len(s.Rows) == 0 {
			problems = append(problems, Problem{fmt.Sprintf("%s (%s): no rows", sectionName(s), in.File), true})
		}
		for _, r := range s.Rows {
			where := sectionName(s) + " — " + r.Metric
			if !present(r.Skywasm) {
				problems = append(problems, Problem{where + ": skywasm's figure is missing", true})
			}
			if r.OtherName != "" && !present(r.Other) {
				problems = append(problems, Problem{where + ": " + r.OtherName + "'s figure is missing", false})
			}
			if r.Better != "lower" && r.Better != "higher" {
				problems = append(problems, Problem{fmt.Sprintf("%s: better is %q, not lower or higher", where, r.Better), false})
			}
			if winner(r) == sideOther {
				losses = append(losses, fmt.Sprintf("**%s**: %s against %s for %s (ratio %s)%s",
					where, figure(r.Skywasm, r.Unit), figure(r.Other, r.Unit), r.OtherName, ratio(r), detail(r.Detail, "; ")))
			}
		}
	}

	b.WriteString("# Benchmarks\n\n")
	b.WriteString("The latest run of `make bench` (scripts/bench.sh), which writes this file; run it again to refresh it. ")
	b.WriteString("Where skywasm is compared with another system, both ran in the same run, alternating, and the figures are medians unless a row says otherwise. ")
	fmt.Fprintf(&b, "Ratio is skywasm ÷ other; within %.0f%% neither side is said to win. A missing figure is shown as —.\n\n", 100*evenWithin)

	b.WriteString("## Machine\n\n| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Run | %s |\n", doc.Date.UTC().Format("2006-01-02 15:04 UTC"))
	if doc.Machine != "" {
		fmt.Fprintf(&b, "| Machine | %s |\n", cell(doc.Machine))
	}
	h := doc.Host
	fmt.Fprintf(&b, "| CPU | %s, %d cores |\n", cell(or(h.CPU)), h.Cores)
	fmt.Fprintf(&b, "| Memory | %s |\n", cell(or(h.RAM)))
	fmt.Fprintf(&b, "| Kernel | %s |\n", cell(or(h.Kernel)))
	fmt.Fprintf(&b, "| Go | %s |\n", cell(or(h.Go)))
	fmt.Fprintf(&b, "| Node | %s |\n\n", cell(or(h.Node)))

	b.WriteString("## Where skywasm loses\n\n")
	if len(losses) == 0 {
		b.WriteString("Nowhere in this run.\n\n")
	}
	for _, l := range losses {
		b.WriteString("- " + l + "\n")
	}
	if len(losses) > 0 {
		b.WriteString("\n")
	}
	if len(problems) > 0 {
		b.WriteString("## Problems\n\n")
		for _, p := range problems {
			b.WriteString("- " + p.Text + "\n")
		}
		b.WriteString("\n")
	}

	for _, in := range doc.Sections {
		if in.Err != nil {
			fmt.Fprintf(&b, "## %s\n\nNo results: %s\n\n", in.File, cell(in.Err.Error()))
			continue
		}
		renderSection(&b, in.Section)
	}
	return b.String(), problems
}

// renderSection writes one section: its command, table and notes.
func renderSection(b *strings.Builder, s bench.Section) {
	fmt.Fprintf(b, "## %s\n\n", sectionName(s))
	if s.Command != "" {
		fmt.Fprintf(b, "Command: `%s`\n\n", strings.ReplaceAll(s.Command, "`", "'"))
	}
	b.WriteString("| Metric | skywasm | other | ratio | who wins |\n|---|--:|--:|--:|---|\n")
	for _, r := range s.Rows {
		metric := cell(r.Metric)
		if r.Detail != "" {
			metric += "<br><sub>" + cell(r.Detail) + "</sub>"
		}
		other := figure(r.Other, r.Unit)
		if r.OtherName != "" {
			other += " (" + cell(r.OtherName) + ")"
		} else if r.Other == nil {
			other = ""
		}
		who := ""
		switch winner(r) {
		case sideSkywasm:
			who = "skywasm"
		case sideOther:
			who = cell(or(r.OtherName))
		case sideEven:
			who = "even"
		case sideUnknown:
			if r.OtherName != "" {
				who = "—"
			}
		}
		rat := ""
		if r.OtherName != "" || r.Other != nil {
			rat = ratio(r)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", metric, figure(r.Skywasm, r.Unit), other, rat, who)
	}
	b.WriteString("\n")
	for _, c := range Charts(s) {
		fmt.Fprintf(b, "![%s](%s/%s.svg)\n\n%s\n\n", c.Title, ChartDir, c.ID, c.Caption)
	}
	if len(s.Notes) > 0 {
		b.WriteString("Notes:\n\n")
		for _, n := range s.Notes {
			b.WriteString("- " + strings.ReplaceAll(n, "\n", " ") + "\n")
		}
		b.WriteString("\n")
	}
}

type side int

const (
	sideUnknown side = iota // a figure is missing or Better is not set
	sideSkywasm
	sideOther
	sideEven
)

// winner says which side's figure is better by more than evenWithin.
func winner(r bench.Row) side {
	if !present(r.Skywasm) || !present(r.Other) || (r.Better != "lower" && r.Better != "higher") {
		return sideUnknown
	}
	s, o := *r.Skywasm, *r.Other
	if math.Abs(s-o) <= evenWithin*math.Max(math.Abs(s), math.Abs(o)) {
		return sideEven
	}
	if (s < o) == (r.Better == "lower") {
		return sideSkywasm
	}
	return sideOther
}

func present(v *float64) bool { return v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) }

// figure is a value with its unit, or — when missing.
func figure(v *float64, unit string) string {
	if !present(v) {
		return "—"
	}
	n := Number(*v)
	switch unit {
	case "":
		return n
	case "%", "×":
		return n + unit
	}
	return n + " " + cell(unit)
}

// ratio is skywasm ÷ other, or —.
func ratio(r bench.Row) string {
	q := r.Ratio()
	if math.IsNaN(q) || math.IsInf(q, 0) {
		return "—"
	}
	return Number(q) + "×"
}

// Number prints v with three significant digits, or as a whole number
// with thousands separators from 100 up and for whole values: precise
// enough for noisy measurements, short enough to read in a table.
func Number(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		// A count: members, peers, bytes.
		return groupThousands(strconv.FormatFloat(v, 'f', 0, 64))
	}
	// Below 100, round to three digits first, so that 99.96 is printed
	// as 100, not 100.0; from 100 up every digit is kept.
	if exp := int(math.Floor(math.Log10(math.Abs(v)))); exp < 2 {
		scale := math.Pow(10, float64(2-exp))
		v = math.Round(v*scale) / scale
	}
	a := math.Abs(v)
	switch {
	case a >= 100:
		return groupThousands(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	case a >= 0.001:
		// Three significant digits: 12.3, 1.23, 0.123, 0.0123, 0.00123.
		decimals := 2 - int(math.Floor(math.Log10(a)))
		return strconv.FormatFloat(v, 'f', decimals, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// groupThousands puts commas in an integer's digits.
func groupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	if s == "0" {
		sign = "" // -0 rounds to 0
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}

// cell makes text safe inside a table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func or(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func detail(d, sep string) string {
	if d == "" {
		return ""
	}
	return sep + d
}

func sectionName(s bench.Section) string {
	if s.Title == "" {
		return "(untitled section)"
	}
	return s.Title
}

// probeHost describes this machine from /proc and the tools on PATH.
func probeHost(ctx context.Context) Host {
	h := Host{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		cores := 0
		for line := range strings.SplitSeq(string(data), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "model name":
				if h.CPU == "" {
					h.CPU = strings.TrimSpace(v)
				}
			case "processor":
				cores++
			}
		}
		if cores > 0 {
			h.Cores = cores
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(rest); len(f) > 0 {
					if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
						h.RAM = fmt.Sprintf("%.1f GiB", kb/(1<<20))
					}
				}
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = "Linux " + strings.TrimSpace(string(data))
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "node", "--version").Output(); err == nil {
		h.Node = string(bytes.TrimSpace(out))
	} else {
		h.Node = "not found"
	}
	return h
}
