package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the seeder's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg     *prometheus.Registry
	counts  atomic.Pointer[counts] // the table's figures, read at each scrape
	visits  *prometheus.CounterVec
	fails   *prometheus.CounterVec
	down    *prometheus.CounterVec
	learned prometheus.Counter
	dns     queryCounts // the responder's, read at each scrape
	server  serverCounts
	commits *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		visits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seeder_visits_total",
			Help: "Visits to nodes by network (ipv4, ipv6, onion, i2p, cjdns) and outcome: OK, PARTIALLY OK, FAILED."}, []string{"network", "outcome"}),
		fails: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seeder_visit_failures_total",
			Help: "Failed visits by network and kind (handshake.ErrorKind: timeout, refused, onion-not-found, i2p-not-found, ...; skipped: no way to reach the network)."},
			[]string{"network", "kind"}),
		down: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seeder_proxy_down_total",
			Help: "Visits not made because the proxy (Tor SOCKS port or I2P SAM bridge) that reaches the network was down, by network and proxy; not counted against the nodes."},
			[]string{"network", "proxy"}),
		learned: prometheus.NewCounter(prometheus.CounterOpts{Name: "seeder_addresses_admitted_total",
			Help: "Gossiped addresses newly admitted to the table."}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seeder_commits_total",
			Help: "Database commits by result (ok, error)."}, []string{"result"}),
	}
	m.reg.MustRegister(newTableCollector(m), newDNSCollector(m), m.visits, m.fails, m.down, m.learned, m.commits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// setCounts publishes the table's figures for the next scrapes.
func (m *metrics) setCounts(c counts) { m.counts.Store(&c) }

// tableCollector reports the table's figures as one consistent set per
// scrape, rather than gauges reset and refilled while a scrape reads them.
type tableCollector struct {
	m                    *metrics
	known, good, dropped *prometheus.Desc
}

func newTableCollector(m *metrics) tableCollector {
	return tableCollector{m: m,
		known: prometheus.NewDesc("seeder_nodes_known",
			"Addresses in the table, by network and transport (empty: never handshaken).", []string{"network", "transport"}, nil),
		good: prometheus.NewDesc("seeder_nodes_good",
			"Nodes DNS hands out (the good rule), by network and transport.", []string{"network", "transport"}, nil),
		dropped: prometheus.NewDesc("seeder_addresses_dropped",
			"Addresses refused since start, from any source (gossip, -addr, seeds): the table was full with no failing record to evict, or a visit gossiped more than it may add.", nil, nil),
	}
}

func (c tableCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.known
	ch <- c.good
	ch <- c.dropped
}

func (c tableCollector) Collect(ch chan<- prometheus.Metric) {
	cs := c.m.counts.Load()
	if cs == nil {
		return
	}
	for k, n := range cs.known {
		ch <- prometheus.MustNewConstMetric(c.known, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	for k, n := range cs.good {
		ch <- prometheus.MustNewConstMetric(c.good, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.GaugeValue, float64(cs.dropped))
}

// dnsCollector reports the DNS counters, which the query path keeps in
// plain atomics rather than in a labelled counter's map.
type dnsCollector struct {
	m                            *metrics
	queries, tcpRefused, tcpOpen *prometheus.Desc
}

func newDNSCollector(m *metrics) dnsCollector {
	return dnsCollector{m: m,
		queries: prometheus.NewDesc("seeder_dns_queries_total",
			"DNS queries by type and answer: noerror, nodata, nxdomain, refused, formerr, notimp, servfail, truncated (too large for UDP), dropped (not a query), ratelimited (dropped by the rate limit), slipped (answered truncated by the rate limit).",
			[]string{"type", "answer"}, nil),
		tcpRefused: prometheus.NewDesc("seeder_dns_tcp_refused_total",
			"TCP connections closed at once: the cap of connections open, or of those of the client's prefix, was reached.", nil, nil),
		tcpOpen: prometheus.NewDesc("seeder_dns_tcp_open", "TCP connections open.", nil, nil),
	}
}

func (c dnsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queries
	ch <- c.tcpRefused
	ch <- c.tcpOpen
}

func (c dnsCollector) Collect(ch chan<- prometheus.Metric) {
	for t := range c.m.dns {
		for o := range c.m.dns[t] {
			if n := c.m.dns[t][o].Load(); n > 0 {
				name := typeNames[t]
				if name == "" {
					name = "unparsed"
				}
				ch <- prometheus.MustNewConstMetric(c.queries, prometheus.CounterValue, float64(n), name, outcomeNames[o])
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(c.tcpRefused, prometheus.CounterValue, float64(c.m.server.tcpRefused.Load()))
	ch <- prometheus.MustNewConstMetric(c.tcpOpen, prometheus.GaugeValue, float64(c.m.server.tcpOpen.Load()))
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
