// Command echopeer is a native skywasm peer for testing pages against: it
// answers every call with a synthetic video and audio stream and sends every
// DataConnection message back unchanged, so a page can check that what it
// sends arrives equal at a Go peer and comes back equal from one.
//
//	echopeer -url http://127.0.0.1:8080 -key KEY [-id echo-bot] [-loopback]
//
// It prints "echopeer: open ID" once the server has accepted it, and runs
// until SIGINT or SIGTERM. -loopback gathers ICE candidates on the loopback
// interface only, for tests in a loopback-only network namespace.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/skywasm/skywasm/internal/loopback"
	"github.com/skywasm/skywasm/sdk"
	"github.com/skywasm/skywasm/sdk/synth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "echopeer:", err)
		os.Exit(1)
	}
}

func run() error {
	url := flag.String("url", "http://localhost:8080", "the skywasm server's `address`")
	key := flag.String("key", "", "the app's API `key`")
	id := flag.String("id", "echo-bot", "the peer `ID` to ask for")
	loopbackOnly := flag.Bool("loopback", false, "gather ICE candidates on the loopback interface only")
	verbose := flag.Bool("v", false, "log the SDK's debug messages to stderr")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	opts := sdk.PeerOptions{
		Key: *key, ID: *id, URL: *url,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	if *loopbackOnly {
		api, err := loopback.API()
		if err != nil {
			return err
		}
		opts.API = api
	}
	src, err := synth.Start(synth.Options{StreamID: "echopeer", Video: true, Audio: true, Label: *id})
	if err != nil {
		return err
	}
	defer src.Close()
	stream := sdk.NewMediaStream(src.Tracks()...)

	p, err := sdk.NewPeer(opts)
	if err != nil {
		return err
	}
	defer p.Destroy()
	p.OnOpen(func(id string) { fmt.Println("echopeer: open", id) })
	p.OnError(func(err error) { fmt.Fprintln(os.Stderr, "echopeer:", err) })
	p.OnCall(func(m *sdk.MediaConnection) {
		if err := m.Answer(stream, nil); err != nil {
			fmt.Fprintln(os.Stderr, "echopeer: answering:", err)
		}
	})
	p.OnConnection(func(d *sdk.DataConnection) {
		// Sent from the data handler itself, so the echoes keep the
		// order of the messages.
		d.OnData(func(v any) {
			if err := d.Send(ctx, v); err != nil {
				fmt.Fprintln(os.Stderr, "echopeer: echoing:", err)
			}
		})
	})
	<-ctx.Done()
	return nil
}
