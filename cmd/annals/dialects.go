package main

import (
	"github.com/annals-dev/annals/adapters/http/civic"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/http/sartiq"
)

// dialects builds every dialect this binary serves. deps gives the
// dependencies of the dialect with a given name: they differ only in the
// public URL its mails link to.
func dialects(deps func(name string) kit.Deps) []kit.Dialect {
	return []kit.Dialect{
		sartiq.New(deps("sartiq")),
		civic.New(deps("civic")),
	}
}
