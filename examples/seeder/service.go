package main

// What running as a service asks of the program: saying which build it
// is, and surviving the signals a service manager sends.

import (
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
)

// version is the module's version and VCS revision, as the build recorded
// them.
func version() string {
	v, rev, dirty := "(devel)", "", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
	}
	out := "bitcoin-handshake seeder " + v
	if rev != "" {
		out += " " + rev + dirty
	}
	return out + " " + runtime.Version()
}

// ignoreHUP logs SIGHUP until done is closed, rather than let it end the
// process without committing the table: the zone's parameters and keys
// are read at start, and changing them takes a restart.
func ignoreHUP(log *slog.Logger, done chan struct{}) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-hup:
				log.Warn("SIGHUP: nothing reloaded; the zone's parameters and keys are read at start, restart to change them")
			case <-done:
				return
			}
		}
	}()
}
