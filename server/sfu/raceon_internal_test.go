//go:build race && !js

package sfu

const raceOn = true
