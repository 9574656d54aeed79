package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxExposure is the highest exposure level systemd-analyze security may
// give the unit: 1.4 when written ("OK"; 0 is best, 10 worst). What
// keeps it above 0 is what a public DNS server needs: the network, port
// 53, the host's root directory.
const maxExposure = 1.5

// TestSystemdUnit: the shipped unit passes systemd-analyze verify, with
// the program built at the path ExecStart names (the only change), and
// its security exposure, offline, is at most maxExposure.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	tool := needTool(t, "systemd-analyze", "systemd")
	const name = "bitcoin-handshake-seeder.service"
	unit, err := os.ReadFile(filepath.Join("contrib", name))
	if err != nil {
		t.Fatal(err)
	}
	const execPath = "/usr/local/bin/seeder"
	if !strings.Contains(string(unit), "ExecStart="+execPath+" ") {
		t.Fatalf("ExecStart does not run %s", execPath)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), execPath, program(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(tool, "security", "--offline=yes", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in\n%s", out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security --offline=yes: exposure %.1f", level)
	if level > maxExposure {
		t.Errorf("exposure %.1f, want at most %.1f:\n%s", level, maxExposure, out)
	}
}

// TestVersion: -version prints the program's name and version and exits
// 0, whatever else is missing (no -zone).
func TestVersion(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(program(t), "-version").Output()
	if err != nil || !strings.HasPrefix(string(out), "bitcoin-handshake seeder ") || !strings.Contains(string(out), "go1.") {
		t.Errorf("-version: %v, %q", err, out)
	}
}
