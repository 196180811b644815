//go:build !race && !js

package sfu_test

const raceEnabled = false
