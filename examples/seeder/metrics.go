package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the seeder's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg     *prometheus.Registry
	known   *prometheus.GaugeVec
	good    *prometheus.GaugeVec
	visits  *prometheus.CounterVec
	learned prometheus.Counter
	dropped prometheus.Gauge
	queries *prometheus.CounterVec
	commits *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		known: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seeder_nodes_known",
			Help: "Addresses in the table, by network and transport (empty: never handshaken)."}, []string{"network", "transport"}),
		good: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seeder_nodes_good",
			Help: "Nodes passing the good rule, by network and transport."}, []string{"network", "transport"}),
		visits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seeder_visits_total",
			Help: "Visits to nodes by outcome: OK, PARTIALLY OK, FAILED."}, []string{"outcome"}),
		learned: prometheus.NewCounter(prometheus.CounterOpts{Name: "seeder_addresses_admitted_total",
			Help: "Gossiped addresses newly admitted to the table."}),
		dropped: prometheus.NewGauge(prometheus.GaugeOpts{Name: "seeder_addresses_dropped",
			Help: "Gossiped addresses refused since start because the table was full."}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seeder_dns_queries_total",
			Help: "DNS queries by type and answer (noerror, nodata, nxdomain, refused, formerr, notimp, truncated, dropped)."},
			[]string{"type", "answer"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seeder_commits_total",
			Help: "Database commits by result (ok, error)."}, []string{"result"}),
	}
	m.reg.MustRegister(m.known, m.good, m.visits, m.learned, m.dropped, m.queries, m.commits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// setCounts replaces the table gauges with c.
func (m *metrics) setCounts(c counts) {
	m.known.Reset()
	m.good.Reset()
	for k, n := range c.known {
		m.known.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
	for k, n := range c.good {
		m.good.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
	m.dropped.Set(float64(c.dropped))
}

// serve serves /metrics on l until ctx ends, and returns once the server
// has shut down.
func (m *metrics) serve(ctx context.Context, l net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})
	err := srv.Serve(l)
	if stop() { // Serve failed before ctx ended
		l.Close()
		return err
	}
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
