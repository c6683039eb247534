package localpg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// account is the OS user that runs initdb and the server when this process
// is root.
type account struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32 // supplementary groups, kept when switching to the user
}

// lookupAccount resolves name to an account that PostgreSQL will run as.
func lookupAccount(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("looking up user %q: %w", name, err)
	}
	a := &account{name: name}
	if a.uid, err = parseID(u.Uid); err != nil {
		return nil, fmt.Errorf("user %q: uid: %w", name, err)
	}
	if a.gid, err = parseID(u.Gid); err != nil {
		return nil, fmt.Errorf("user %q: gid: %w", name, err)
	}
	if a.uid == 0 {
		return nil, fmt.Errorf("user %q is root, and PostgreSQL refuses to run as root", name)
	}
	gids, _ := u.GroupIds() // without them the user keeps only its primary group
	for _, g := range gids {
		if id, err := parseID(g); err == nil && id != a.gid {
			a.groups = append(a.groups, id)
		}
	}
	return a, nil
}

func parseID(s string) (uint32, error) {
	id, err := strconv.ParseUint(s, 10, 32)
	return uint32(id), err
}

// sysProcAttr makes a command run as the account.
func (a *account) sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: a.groups}}
}

// checkTraversable returns an error naming the first parent folder of dir
// (as written and with symlinks resolved) that a cannot enter. It reads the
// permission bits only; ACLs are not consulted.
func (a *account) checkTraversable(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("localpg: resolving %s: %w", dir, err)
	}
	for _, path := range []string{dir, real} {
		for p := filepath.Dir(path); ; p = filepath.Dir(p) {
			fi, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("localpg: checking %s: %w", p, err)
			}
			if !a.canSearch(fi) {
				return fmt.Errorf("localpg: user %s, which runs PostgreSQL because this process is root, cannot enter %s (mode %04o): every parent folder of Config.Dir must be searchable by it; run `chmod o+x %s` or choose another Dir", a.name, p, uint32(fi.Mode().Perm()), p)
			}
			if p == filepath.Dir(p) {
				break
			}
		}
	}
	return nil
}

// canSearch reports whether a may enter the folder fi, by the owner, group
// and other bits as the kernel applies them.
func (a *account) canSearch(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case st.Uid == a.uid:
		return perm&0o100 != 0
	case st.Gid == a.gid || slices.Contains(a.groups, st.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// chownAll gives dir and everything in it to a, like `chown -R`.
func (a *account) chownAll(dir string) error {
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			err = os.Lchown(p, int(a.uid), int(a.gid))
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walked
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("localpg: giving %s to user %s: %w", dir, a.name, err)
	}
	return nil
}
