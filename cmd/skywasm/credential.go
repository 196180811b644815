package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
)

type credentialOptions struct {
	key, secret, peer, config string
	ttl                       int64
}

func (cl *cli) credentialFlags() (*flagSet, *credentialOptions) {
	o := &credentialOptions{ttl: 3600}
	fs := newFlagSet("credential", "-peer ID [-ttl SECONDS] (-secret S | -config FILE [-key K])",
		`Signs a peer-authentication credential for the peer ID, valid from now for
-ttl seconds. It prints the credential as JSON and, on a second line, URL-encoded
for the credential query parameter. The secret comes from -secret, or from the
app with -key in the -config file (-key may be left out if there is one app).`, cl.stderr)
	fs.StringVar(&o.peer, "peer", "", "the peer `ID` the credential is for (required)")
	fs.Int64Var(&o.ttl, "ttl", o.ttl, fmt.Sprintf("validity in `seconds`, %d to %d", protocol.MinCredentialTTL, protocol.MaxCredentialTTL))
	fs.StringVar(&o.secret, "secret", "", "the app's `secret`")
	fs.StringVar(&o.key, "key", "", "the app's API `key`, to find its secret in -config")
	fs.StringVar(&o.config, "config", "", "YAML config `file` holding the app's secret")
	fs.bindEnv("config", "SKYWASM_CONFIG")
	return fs, o
}

func (cl *cli) credential(args []string) error {
	fs, o := cl.credentialFlags()
	if err := fs.parse(cl.getenv, args); err != nil {
		return err
	}
	usageError := func(format string, args ...any) error {
		fmt.Fprintf(fs.Output(), format+"\n", args...)
		fs.Usage()
		return errUsage
	}
	switch {
	case o.peer == "":
		return usageError("-peer is required")
	case !protocol.ValidPeerID(o.peer):
		return usageError("-peer %q: not a valid peer ID (^[A-Za-z0-9_-]+(?:[ _-][A-Za-z0-9]+)*$, at most %d characters)", o.peer, protocol.MaxPeerIDLength)
	case o.ttl < protocol.MinCredentialTTL || o.ttl > protocol.MaxCredentialTTL:
		return usageError("-ttl %d: must be %d to %d seconds", o.ttl, protocol.MinCredentialTTL, protocol.MaxCredentialTTL)
	case o.key != "" && !config.IsAPIKey(o.key):
		return usageError("-key %q: not an API key (a lower-case UUID)", o.key)
	case o.secret == "" && o.config == "":
		return usageError("give -secret, or -config with the app's secret")
	}

	secret := o.secret
	if secret == "" {
		cfg, err := config.Load(o.config)
		if err != nil {
			return err
		}
		app, err := findApp(cfg, o.key)
		if err != nil {
			return err
		}
		secret = app.Secret
	}

	c := protocol.SignCredential(secret, o.peer, cl.now(), time.Duration(o.ttl)*time.Second)
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("failed to encode credential: %w", err)
	}
	fmt.Fprintf(cl.stdout, "%s\n%s\n", b, url.QueryEscape(string(b)))
	return nil
}

// findApp returns the app with key, or the only app when key is empty.
func findApp(cfg *config.Config, key string) (*config.App, error) {
	if key == "" {
		if len(cfg.Apps) != 1 {
			return nil, fmt.Errorf("-key is required: the config has %d apps", len(cfg.Apps))
		}
		return &cfg.Apps[0], nil
	}
	app, ok := cfg.App(key)
	if !ok {
		return nil, fmt.Errorf("no app with key %s in the config", key)
	}
	return app, nil
}
