# /etc/vaultd/vaultd.hcl for node vaultd-1 of a 3-node cluster (systemd).
# Nodes vaultd-2 and vaultd-3 use the same file with their own node_id,
# addresses and certificate. Files under /run/credentials/vaultd.service
# are the unit's LoadCredential= entries (systemd's $CREDENTIALS_DIRECTORY).

storage "raft" {
  path    = "/var/lib/vaultd"
  node_id = "vaultd-1"

  # The other nodes (never the node itself: its join request to itself
  # would hold its API for the request's 30 s timeout). While this node is
  # uninitialized it keeps asking them until one is initialized, then
  # joins it.
  retry_join {
    leader_api_addr     = "https://vaultd-2.example.internal:8200"
    leader_ca_cert_file = "/etc/vaultd/ca.pem"
  }
  retry_join {
    leader_api_addr     = "https://vaultd-3.example.internal:8200"
    leader_ca_cert_file = "/etc/vaultd/ca.pem"
  }
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_cert_file   = "/etc/vaultd/tls.crt"
  tls_key_file    = "/run/credentials/vaultd.service/tls.key"
  tls_min_version = "tls13"

  # Prometheus scrapes /v1/sys/metrics?format=prometheus on every node.
  telemetry {
    unauthenticated_metrics_access = true
  }
}

api_addr     = "https://vaultd-1.example.internal:8200"
cluster_addr = "https://vaultd-1.example.internal:8201"
log_level    = "info"
log_format   = "json"

# Unattended restarts (docs/adr/0005): anyone holding this key and the data
# directory can read the data. Delete this block, and the unit's
# LoadCredential=static-seal.key line, to unseal with key shares instead.
seal "static" {
  key_file = "/run/credentials/vaultd.service/static-seal.key"
}

# A file audit device, declared here rather than through sys/audit.
audit "file" "file/" {
  description = "local audit log (logrotate, then systemctl reload vaultd)"
  options {
    file_path = "/var/log/vaultd/audit.log"
  }
}
