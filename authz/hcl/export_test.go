package hcl

// ForcedDeciders are Options whose deciding paths are those some permit
// would name and force accepts, whatever they cost: tests use them to
// mix both ways of enforcing priority on small sets.
func ForcedDeciders(force func(path string) bool) Options {
	return Options{force: force}
}
