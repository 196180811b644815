package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// flagSet is a subcommand's flags, some of which may also come from
// environment variables.
type flagSet struct {
	*flag.FlagSet
	env [][2]string // flag name, variable; in binding order
}

func newFlagSet(name, synopsis, description string, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: skywasm %s %s\n\n%s\n\nFlags:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// bindEnv lets the variable env set the flag name when the command line
// does not.
func (fs *flagSet) bindEnv(name, env string) {
	f := fs.Lookup(name)
	f.Usage += " (env " + env + ")"
	fs.env = append(fs.env, [2]string{name, env})
}

// parse sets flags from the environment, then from args, so that the
// command line wins. It returns flag.ErrHelp for -h, and errUsage, already
// reported, for anything else wrong.
func (fs *flagSet) parse(getenv func(string) string, args []string) error {
	for _, b := range fs.env {
		if v := getenv(b[1]); v != "" {
			if err := fs.Set(b[0], v); err != nil {
				fmt.Fprintf(fs.Output(), "invalid value %q for %s: %v\n", v, b[1], err)
				return errUsage
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage // the flag package has printed the error and usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// levelFlag is a log level named debug, info, warn or error.
type levelFlag struct{ slog.Level }

func (l *levelFlag) String() string { return strings.ToLower(l.Level.String()) }

func (l *levelFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "debug":
		l.Level = slog.LevelDebug
	case "info":
		l.Level = slog.LevelInfo
	case "warn":
		l.Level = slog.LevelWarn
	case "error":
		l.Level = slog.LevelError
	default:
		return errors.New("want debug, info, warn or error")
	}
	return nil
}

// sizeFlag is a size in bytes, written as a number with an optional KiB,
// MiB or GiB; 0 means the default.
type sizeFlag struct{ n int64 }

func (f *sizeFlag) String() string {
	if f == nil || f.n == 0 {
		return ""
	}
	return strconv.FormatInt(f.n, 10)
}

func (f *sizeFlag) Set(s string) error {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return errors.New("want a size such as 512MiB, 2GiB or a number of bytes")
	}
	f.n = n * mult
	return nil
}
