package cluster

import "syscall"

// sysProcAttr makes the kernel kill a vaultd child if the test process dies
// before its cleanup ran.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
