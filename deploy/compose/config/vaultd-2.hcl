# vaultd-2 of the compose cluster (compose.yaml).
storage "raft" {
  path    = "/vault/data"
  node_id = "vaultd-2"
  # Join vaultd-1 (initialize it first); vaultd-1 itself needs no retry_join.
  retry_join {
    leader_api_addr     = "https://vaultd-1:8200"
    leader_ca_cert_file = "/vault/tls/ca.pem"
  }
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_cert_file   = "/vault/tls/vaultd.crt"
  tls_key_file    = "/vault/tls/vaultd.key"
  telemetry {
    unauthenticated_metrics_access = true
  }
}

api_addr     = "https://vaultd-2:8200"
cluster_addr = "https://vaultd-2:8201"
log_level    = "info"
log_format   = "json"

audit "file" "file/" {
  options {
    file_path = "/vault/audit/audit.log"
  }
}
