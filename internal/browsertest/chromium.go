//go:build unix

package browsertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// printCommand makes scripts/chromium print the browser and flags it would
// run, one per line, instead of running them.
const printCommand = "--skywasm-print-command"

// ChromiumWrapper returns the path of scripts/chromium, which starts Chromium
// with the flags the browser tests need. Give it to any tool that launches
// Chromium (chromedp's ExecPath, Playwright's executablePath): it also merges
// the tool's --disable-features into its own.
func ChromiumWrapper() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	path := filepath.Join(root, "scripts", "chromium")
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("failed to find the Chromium wrapper: %w", err)
	}
	if info.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s is not executable: chmod +x it", path)
	}
	return path, nil
}

// ChromiumPath returns the Chromium binary that scripts/chromium runs, or an
// error saying how to install it.
func ChromiumPath() (string, error) {
	command, err := chromiumCommand()
	if err != nil {
		return "", err
	}
	return command[0], nil
}

// ChromiumFlags returns the flags scripts/chromium adds, for a tool that must
// start ChromiumPath itself. They include a --disable-features switch:
// Chromium keeps only the last one, so a caller with its own list must merge
// the two.
func ChromiumFlags() ([]string, error) {
	command, err := chromiumCommand()
	if err != nil {
		return nil, err
	}
	return command[1:], nil
}

// chromiumCommand returns the browser and flags scripts/chromium would run.
func chromiumCommand() ([]string, error) {
	wrapper, err := ChromiumWrapper()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(wrapper, printCommand).Output()
	if err != nil {
		// The script explains a missing browser on stderr.
		if exitErr, ok := errors.AsType[*exec.ExitError](err); ok && len(exitErr.Stderr) > 0 {
			return nil, errors.New(strings.TrimSpace(string(exitErr.Stderr)))
		}
		return nil, fmt.Errorf("failed to run %s: %w", wrapper, err)
	}
	command := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(command) < 2 {
		return nil, fmt.Errorf("%s %s printed %q, want a browser and its flags", wrapper, printCommand, out)
	}
	return command, nil
}

// moduleRoot returns the directory of skywasm's go.mod: two levels above this
// file, or, when a -trimpath build hides where that is, the nearest one above
// the working directory, which go test sets to the package's.
func moduleRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Join(filepath.Dir(file), "..", ".."), nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("failed to find the module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("failed to find the module root: no go.mod above the working directory")
		}
		dir = parent
	}
}
