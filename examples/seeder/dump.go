package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// dumpHeader is the first line of sipa's dnsseed.dump.
const dumpHeader = "# address                                        good  lastSuccess    %(2h)   %(8h)   %(1d)   %(7d)  %(30d)  blocks      svcs  version\n"

// writeDump writes recs in sipa's dnsseed.dump format, which Bitcoin
// Core's contrib/seeds/makeseeds.py reads: one line per node that has
// answered at least once, the most reliable over a month first. The
// columns are split on white space, so the user agent, last, has its
// white space, quotes and unprintable bytes replaced by '_'.
func writeDump(w io.Writer, recs []record) (int, error) {
	var rows []*record
	for i := range recs {
		if recs[i].Successes > 0 {
			rows = append(rows, &recs[i])
		}
	}
	// sipa's order: by the month's reliability, then the week's, ...
	slices.SortFunc(rows, func(a, b *record) int {
		for i := len(a.Stats) - 1; i >= 0; i-- {
			if a.Stats[i].Rel != b.Stats[i].Rel {
				if a.Stats[i].Rel > b.Stats[i].Rel {
					return -1
				}
				return 1
			}
		}
		return strings.Compare(a.Addr, b.Addr)
	})
	bw := bufio.NewWriter(w)
	bw.WriteString(dumpHeader)
	for _, r := range rows {
		good := 0
		if r.Good {
			good = 1
		}
		fmt.Fprintf(bw, "%-47s  %4d  %11d  %6.2f%% %6.2f%% %6.2f%% %6.2f%% %6.2f%%  %6d  %08x  %5d \"%s\"\n",
			r.Addr, good, unix(r.LastSuccess),
			100*r.Stats[0].Rel, 100*r.Stats[1].Rel, 100*r.Stats[2].Rel, 100*r.Stats[3].Rel, 100*r.Stats[4].Rel,
			r.StartHeight, r.Services, r.ProtocolVersion, sanitize(r.UserAgent))
	}
	return len(rows), bw.Flush()
}

// sanitize keeps a user agent to one column of printable ASCII.
func sanitize(s string) string {
	return strings.Map(func(c rune) rune {
		if c <= ' ' || c > '~' || c == '"' {
			return '_'
		}
		return c
	}, s)
}

// saveDump writes the dump to path atomically: into a temporary file in the
// same directory, synced, then renamed over path and the directory synced,
// so a reader (or a crash) never sees half a file. It returns the number of nodes written.
func saveDump(path string, recs []record) (int, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, fmt.Errorf("dump: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	n, err := writeDump(f, recs)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return 0, fmt.Errorf("dump: %w", err)
	}
	return n, nil
}

// syncDir makes a rename in dir durable: until the directory itself is
// synced, a crash may leave the old name pointing at the old file, or at
// none.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
