// Command skywasm runs the skywasm signaling server and signs credentials
// for peer authentication.
//
//	skywasm [serve] [-addr host:port] [-config FILE] [-static DIR] [-log-level LEVEL]
//	skywasm credential -peer ID [-ttl SECONDS] (-secret S | -config FILE [-key K])
//	skywasm version
//	skywasm help [command]
//
// Without -config, serve runs in dev mode: one app with a fresh API key,
// printed at start. This package is flags and wiring only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = ""

// release is the version this source tree is, shared with package.json's
// "version" and the Go module's tag (v + release), which a test checks; a
// build without a link-time or module version reports it as
// release-devel+COMMIT.
const release = "0.1.0"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // bad command line or environment
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cl := &cli{stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now}
	return cl.run(context.Background(), args)
}

// cli is one invocation, with its surroundings replaceable for tests.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// ready, if set, receives the server's URL once it listens.
	ready func(url string)
}

// errUsage marks an error in the command line; it has been reported already.
var errUsage = errors.New("usage error")

func (cl *cli) run(ctx context.Context, args []string) int {
	cmd, rest := "serve", args
	switch {
	case len(args) == 0:
	case args[0] == "-h", args[0] == "-help", args[0] == "--help":
		// Not serve's flags: someone new to the command wants the overview.
		cmd, rest = "help", args[1:]
	case !strings.HasPrefix(args[0], "-"):
		cmd, rest = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = cl.serve(ctx, rest)
	case "credential":
		err = cl.credential(rest)
	case "version":
		if len(rest) > 0 {
			err = cl.usageError("version takes no arguments")
			break
		}
		fmt.Fprintf(cl.stdout, "skywasm %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	case "help":
		err = cl.help(rest)
	default:
		fmt.Fprintf(cl.stderr, "skywasm: unknown command %q\n\n", cmd)
		cl.usage(cl.stderr)
		err = errUsage
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	default:
		fmt.Fprintf(cl.stderr, "skywasm: %v\n", err)
		return exitError
	}
}

func (cl *cli) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: skywasm <command> [flags]

Commands:
  serve       run the signaling server (the default command)
  credential  sign a peer-authentication credential
  version     print the version
  help        print this help, or a command's flags: skywasm help serve

Environment variables mirror flags, which win over them:
  SKYWASM_ADDR, SKYWASM_CONFIG, SKYWASM_STATIC, SKYWASM_LOG_LEVEL
`)
}

func (cl *cli) help(args []string) error {
	switch {
	case len(args) == 0:
		cl.usage(cl.stdout)
		return nil
	case len(args) > 1:
		return cl.usageError("help takes at most one command")
	}
	var fs *flagSet
	switch args[0] {
	case "serve":
		fs, _ = cl.serveFlags()
	case "credential":
		fs, _ = cl.credentialFlags()
	case "version", "help":
		cl.usage(cl.stdout)
		return nil
	default:
		return cl.usageError(fmt.Sprintf("unknown command %q", args[0]))
	}
	fs.SetOutput(cl.stdout)
	fs.Usage()
	return nil
}

// usageError reports msg and the general usage, and returns errUsage.
func (cl *cli) usageError(msg string) error {
	fmt.Fprintf(cl.stderr, "skywasm: %s\n\n", msg)
	cl.usage(cl.stderr)
	return errUsage
}

// buildVersion is the link-time version, else the module version, else
// release-devel with the VCS revision when known.
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "v" + release + "-devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "v" + release + "-devel+" + s.Value[:12]
		}
	}
	return "v" + release + "-devel"
}
