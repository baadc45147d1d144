package main

import "github.com/annals-dev/annals/adapters/http/kit"

// dialects builds every dialect this binary serves. deps gives the
// dependencies of the dialect with a given name: they differ only in the
// public URL its mails link to. Add a dialect with an entry such as
// sartiq.New(deps("sartiq")).
func dialects(deps func(name string) kit.Deps) []kit.Dialect {
	return []kit.Dialect{}
}
