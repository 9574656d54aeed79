// Command report turns what sweep -json and crawl -json wrote into one
// self-contained HTML page of charts and a sortable node table.
//
//	go run ./examples/sweep -demo -json | go run ./examples/report -o report.html
//	go run ./examples/report -o report.html nodes.jsonl crawl.jsonl
//	go run ./examples/report -db seeder.db -o report.html
//
// -db reads the seeder's SQLite database (its nodes table) as well. With no
// file and no -db, or with "-", it reads standard input. A line that is not a
// record is counted and shown on the page, never fatal. Bad flags exit with
// status 2; an input or output that cannot be opened exits with status 1.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
	"github.com/bitcoin-handshake/handshake/examples/internal/report"
	"github.com/bitcoin-handshake/handshake/examples/internal/report/seeddb"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("report", "report [flags] [file.jsonl|-]...",
		"Writes one self-contained HTML page of charts and a node table from what\n"+
			"sweep -json and crawl -json wrote (files, or standard input) and, with -db,\n"+
			"the seeder's SQLite database, which it only reads.",
		"Exit status: 0 when the page was written; 1 when an input or the output could\nnot be opened; 2 for bad flags.")
	out := fs.String("o", "", "write the page to this file (default: standard output)")
	title := fs.String("title", "", "the page's heading (default \"Bitcoin network report\")")
	network := fs.String("network", "", "the network to name in the header (default: as the records say)")
	dbPath := fs.String("db", "", "also read the nodes of the seeder's SQLite database at this path")
	if err := cli.Parse(fs, args, stderr); err != nil {
		return cli.UsageError(stderr, "report", err)
	}
	d := &report.Data{Facts: report.Facts{Title: *title, Network: *network}}
	inputs := fs.Args()
	if len(inputs) == 0 && *dbPath == "" {
		inputs = []string{"-"}
	}
	for _, in := range inputs {
		if err := load(d, in, stdin); err != nil {
			fmt.Fprintf(stderr, "report: %v\n", err)
			return 1
		}
	}
	if *dbPath != "" {
		if err := seeddb.Load(context.Background(), d, *dbPath); err != nil {
			fmt.Fprintf(stderr, "report: %v\n", err)
			return 1
		}
	}
	if d.BadLines > 0 {
		fmt.Fprintf(stderr, "report: %d malformed line(s) left out (listed on the page)\n", d.BadLines)
	}
	if err := write(d, *out, stdout); err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 1
	}
	return 0
}

func load(d *report.Data, name string, stdin io.Reader) error {
	if name == "-" {
		return d.Load(stdin, "standard input")
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return d.Load(f, name)
}

// write renders d to the file named out, or to stdout when out is empty.
func write(d *report.Data, out string, stdout io.Writer) (err error) {
	if out == "" {
		return report.Render(stdout, d)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	return report.Render(f, d)
}
