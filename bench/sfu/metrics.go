//go:build !js

package sfu

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sfuCounters are the server's own counts, from its /metrics.
type sfuCounters struct {
	read  float64 // packets read from publishers
	nacks float64 // NACK packets received from subscribers
	shed  float64 // subscribers whose video the SFU sheds now (a gauge)
}

// counters scrapes the server's /metrics.
func (s *server) counters(ctx context.Context) (sfuCounters, error) {
	if !s.skywasmMetrics {
		return sfuCounters{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/metrics", nil)
	if err != nil {
		return sfuCounters{}, fmt.Errorf("failed to read the server's metrics: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return sfuCounters{}, fmt.Errorf("failed to read the server's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sfuCounters{}, fmt.Errorf("failed to read the server's metrics: %s", resp.Status)
	}
	var c sfuCounters
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		name, value, ok := strings.Cut(lines.Text(), " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case "skywasm_sfu_forwarded_packets_total":
			dst = &c.read
		case "skywasm_sfu_nacks_total":
			dst = &c.nacks
		case "skywasm_sfu_shed_subscribers":
			dst = &c.shed
		default:
			continue
		}
		if *dst, err = strconv.ParseFloat(value, 64); err != nil {
			return c, fmt.Errorf("failed to read the server's metric %s: %w", name, err)
		}
	}
	if err := lines.Err(); err != nil {
		return c, fmt.Errorf("failed to read the server's metrics: %w", err)
	}
	return c, nil
}
