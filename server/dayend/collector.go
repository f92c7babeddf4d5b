package dayend

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/multipos/multipos/server/store"
)

var (
	openDesc = prometheus.NewDesc("multipos_reconcile_open_exceptions",
		"Reconciliation differences left open for an operator, by channel (all days).", []string{"channel"}, nil)
	lastDesc = prometheus.NewDesc("multipos_reconcile_last_run_timestamp_seconds",
		"When the channel's latest reconciliation run (latest business day) last finished or was tried, by channel and status (done, waiting, failed, running).",
		[]string{"channel", "status"}, nil)
	dayDesc = prometheus.NewDesc("multipos_reconcile_last_day_timestamp_seconds",
		"The start (business zone) of the latest business day reconciled or being reconciled, by channel.", []string{"channel"}, nil)
)

// Collector exposes reconciliation to Prometheus, read from the database
// at each scrape so that every instance reports the same. An alert can
// fire on open exceptions, on a run not done, or on a day not reconciled.
type Collector struct {
	Store    *store.Store
	Channels []string // reported with 0 open exceptions when none
	Zone     *time.Location
}

func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- openDesc
	ch <- lastDesc
	ch <- dayDesc
}

func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	open, err := c.Store.OpenExceptions(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(openDesc, err)
		return
	}
	for _, name := range c.Channels {
		if _, ok := open[name]; !ok {
			open[name] = 0
		}
	}
	for name, n := range open {
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(n), name)
	}
	runs, err := c.Store.ReconRuns(ctx, "")
	if err != nil {
		ch <- prometheus.NewInvalidMetric(lastDesc, err)
		return
	}
	seen := map[string]bool{}
	for _, r := range runs { // newest day first
		if seen[r.Channel] {
			continue
		}
		seen[r.Channel] = true
		at := r.FinishedAt
		if at.IsZero() {
			at = r.StartedAt
		}
		ch <- prometheus.MustNewConstMetric(lastDesc, prometheus.GaugeValue, float64(at.Unix()), r.Channel, r.Status)
		if d, err := time.ParseInLocation("2006-01-02", r.Day, c.zone()); err == nil {
			ch <- prometheus.MustNewConstMetric(dayDesc, prometheus.GaugeValue, float64(d.Unix()), r.Channel)
		}
	}
}

func (c *Collector) zone() *time.Location {
	if c.Zone == nil {
		return time.Local
	}
	return c.Zone
}
