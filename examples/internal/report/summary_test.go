package report

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

func node(status, transport, ua string, height int32) Node {
	return Node{Addr: "192.0.2.1:8333", Network: "ipv4", Status: status, Transport: transport,
		HasPeer: status != StatusFailed, UserAgent: ua, Version: 70016, StartHeight: height, Depth: -1}
}

func TestSummarize(t *testing.T) {
	d := &Data{}
	// 14 user agents: the 12 most common get a bar, the other two share one.
	for i := range 14 {
		for range 14 - i {
			d.Nodes = append(d.Nodes, node(StatusOK, "v1", fmt.Sprintf("/ua%02d/", i), 1000))
		}
	}
	d.Nodes[0].Transport, d.Nodes[1].Transport = "v2", "v2" // two of /ua00/'s 14
	d.Nodes[0].Services = 1<<0 | 1<<3 | 1<<11 | 1<<40
	d.Nodes[0].StartHeight = 1010
	d.Nodes[1].StartHeight = 1009
	d.Nodes[0].Features = []Feature{{ID: "x/1"}, {ID: "y/2"}}
	d.Nodes[1].Features = []Feature{{ID: "x/1"}}
	d.Nodes[0].HasPing, d.Nodes[0].PingMS = true, 30
	d.Nodes[0].ConnectMS, d.Nodes[1].ConnectMS = 20, 10
	failed := node(StatusFailed, "v2", "", 0)
	failed.Error, failed.Step, failed.Class = "handshake: x", "connect", "refused"
	skipped := Node{Addr: "a.b32.i2p:0", Network: "i2p", Status: StatusSkipped, Depth: 2}
	d.Nodes = append(d.Nodes, failed, skipped)

	s := Summarize(d)
	ok := 14 * 15 / 2
	if s.Nodes != ok+2 || s.OK != ok || s.Failed != 1 || s.Skipped != 1 || s.PartiallyOK != 0 {
		t.Errorf("counts: %+v", s)
	}
	if want := []Count{{"OK", ok}, {"partial", 0}, {"failed", 1}, {"skipped", 1}}; !reflect.DeepEqual(s.Outcome, want) {
		t.Errorf("outcome %v", s.Outcome)
	}
	if len(s.UserAgents) != TopN+1 || s.UserAgents[0] != (Count{"/ua00/", 14}) ||
		s.UserAgents[TopN] != (Count{"other agents (2)", 2 + 1}) {
		t.Errorf("user agents %v", s.UserAgents)
	}
	if s.V2ByAgent[0] != (Share{"/ua00/", 12, 2}) || len(s.V2ByAgent) != TopN {
		t.Errorf("v2 by agent %v", s.V2ByAgent)
	}
	if want := []Count{{"NETWORK", 1}, {"WITNESS", 1}, {"P2P_V2", 1}, {"bit 40", 1}}; !reflect.DeepEqual(s.Services, want) {
		t.Errorf("services %v", s.Services)
	}
	if want := []Count{{"x/1", 2}, {"y/2", 1}}; !reflect.DeepEqual(s.Features, want) {
		t.Errorf("features %v", s.Features)
	}
	if s.MaxHeight != 1010 || s.Behind[0].N != 1 || s.Behind[1].N != 1 || s.Behind[3].N != ok-2 {
		t.Errorf("heights: max %d, behind %v", s.MaxHeight, s.Behind)
	}
	if want := []Count{{"ipv4", ok + 1}, {"skipped", 1}}; !reflect.DeepEqual(s.Networks, want) {
		t.Errorf("networks %v", s.Networks)
	}
	if want := []Count{{"connect", 1}}; !reflect.DeepEqual(s.FailSteps, want) {
		t.Errorf("fail steps %v", s.FailSteps)
	}
	if len(s.Latency) != 2 || s.Latency[0].Name != "connect" || !reflect.DeepEqual(s.Latency[0].MS, []float64{10, 20}) ||
		s.Latency[1].Name != "ping RTT" {
		t.Errorf("latency %v", s.Latency)
	}
	if want := []Count{{"v1", ok - 2}, {"v2", 2}}; !reflect.DeepEqual(s.Transports, want) {
		t.Errorf("transports %v (a failed handshake has no transport to count)", s.Transports)
	}
}

func TestFactsFromNodes(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 19, 0, 0, 0, time.UTC)
	d := &Data{Nodes: []Node{
		{Chain: "testnet4", Time: t0.Add(time.Second), TotalMS: 500},
		{Chain: "testnet4", Time: t0, TotalMS: 100},
		{Chain: "testnet4"},
	}}
	f := d.facts()
	if f.Network != "testnet4" || !f.Start.Equal(t0) || f.Elapsed != 1500*time.Millisecond || f.Addresses != 3 || f.Title == "" {
		t.Errorf("facts %+v", f)
	}
	d.Facts = Facts{Network: "mainnet", Addresses: 10, Start: t0.Add(-time.Hour), Elapsed: time.Minute}
	if f := d.facts(); f.Network != "mainnet" || f.Addresses != 10 || f.Elapsed != time.Minute {
		t.Errorf("given facts overridden: %+v", f)
	}
}
