package reconbench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// loadAvg is the first three fields of /proc/loadavg, "?" where there is
// none.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// Machine says what the figures were taken on: cores and processor.
func Machine() string {
	model := "unknown processor"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%d cores (runtime.NumCPU), %s, %s", runtime.NumCPU(), model, runtime.Version())
}

// spread is min / median / max.
func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("%s / %s / %s", ms(s[0]), ms(s[len(s)/2]), ms(s[len(s)-1]))
}

func spreadRatio(rs []float64) string {
	s := slices.Clone(rs)
	slices.Sort(s)
	return fmt.Sprintf("%.2f× / %.2f× / %.2f×", s[0], s[len(s)/2], s[len(s)-1])
}

// Markdown writes the results as a table: one row per step and engine,
// min / median / max over the runs.
func Markdown(w io.Writer, results []Result) {
	fmt.Fprintf(w, "Machine: %s.\n\n", Machine())
	fmt.Fprintln(w, "| engine | N | runs | load average (before → after) | journal bulk load (setup) |")
	fmt.Fprintln(w, "| --- | --: | --: | --- | --: |")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %d | %d | %s → %s | %s |\n", r.Engine, r.N, len(r.Runs), r.LoadBefore, r.LoadAfter, ms(r.Setup))
	}
	fmt.Fprintln(w)
	header := "| --- |" + strings.Repeat(" --: |", len(results))
	fmt.Fprintf(w, "| step: wall min / median / max (median CPU of posserver) |")
	for _, r := range results {
		fmt.Fprintf(w, " %s, N = %d |", r.Engine, r.N)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, header)
	steps := []struct {
		name string
		get  func(Timing) Step
	}{
		{"parse (zip, GBK, CSV → lines)", func(t Timing) Step { return t.Parse }},
		{"load the day's journal", func(t Timing) Step { return t.Load }},
		{"match", func(t Timing) Step { return t.Match }},
		{"store the results", func(t Timing) Step { return t.Store }},
		{"sum of the four steps", func(t Timing) Step { return t.Total }},
		{"**dayend.Runner.Run, end to end**", func(t Timing) Step { return t.Run }},
		{"anchor: SQL join into a table", func(t Timing) Step { return t.Join }},
	}
	for _, s := range steps {
		fmt.Fprintf(w, "| %s |", s.name)
		for _, r := range results {
			var wall, cpu []time.Duration
			for _, t := range r.Runs {
				wall = append(wall, s.get(t).Wall)
				cpu = append(cpu, s.get(t).CPU)
			}
			slices.Sort(cpu)
			fmt.Fprintf(w, " %s (CPU %s) |", spread(wall), ms(cpu[len(cpu)/2]))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| **dayend run ÷ join** |")
	for _, r := range results {
		var rs []float64
		for _, t := range r.Runs {
			rs = append(rs, t.ratio())
		}
		fmt.Fprintf(w, " %s |", spreadRatio(rs))
	}
	fmt.Fprintln(w)
}
