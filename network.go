package handshake

import (
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/v2"
)

// NetworkNames returns the names ParseNetwork accepts, in a stable order for
// flag help.
func NetworkNames() []string {
	return []string{"mainnet", "testnet3", "testnet4", "signet", "regtest", "simnet"}
}

// ParseNetwork returns the chain parameters for a network name as used by
// Bitcoin Core's and btcd's command lines ("mainnet", "testnet3",
// "testnet4", "signet", "regtest", "simnet"), so programs can offer a
// -network flag without a table of their own.
func ParseNetwork(name string) (*chaincfg.Params, error) {
	switch name {
	case "mainnet", "main":
		return &chaincfg.MainNetParams, nil
	case "testnet3", "testnet":
		return &chaincfg.TestNet3Params, nil
	case "testnet4":
		return &chaincfg.TestNet4Params, nil
	case "signet":
		return &chaincfg.SigNetParams, nil
	case "regtest":
		return &chaincfg.RegressionNetParams, nil
	case "simnet":
		return &chaincfg.SimNetParams, nil
	}
	return nil, fmt.Errorf("handshake: unknown network %q (want one of %v)", name, NetworkNames())
}
