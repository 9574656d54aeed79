//go:build !linux

package bip324

import "time"

func threadCPU() time.Duration  { return -1 }
func processCPU() time.Duration { return -1 }
