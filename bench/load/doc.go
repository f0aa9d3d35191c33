// Package load drives a kv-v2 load against one or more Vault-compatible
// servers over the Vault HTTP API and summarises throughput, latency and
// availability. It is the engine of the vaultbench command.
//
// Run is the whole public surface: build a Config from DefaultConfig, set
// the addresses and token, and read the returned Report (WriteText or
// WriteJSON). Each client is a goroutine with its own keep-alive
// http.Client, bound round-robin to one address; every latency is kept and
// summarised with nearest-rank percentiles (Percentile, Summarize), and
// every request's outcome is kept on a timeline whose outage windows (the
// stretches without a successful request, e.g. a leader failover) are
// summarised by SummarizeAvailability.
//
// Only loopback addresses are accepted unless Config.AllowRemote is set.
// The token is sent as X-Vault-Token and never printed.
package load
