package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultLocalURL is where a PostgreSQL already running on this machine
// usually answers.
const DefaultLocalURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DevServerConfig says where to look for a PostgreSQL to develop and test
// against.
type DevServerConfig struct {
	// URL is used as is when set (ANNALS_DATABASE_URL).
	URL string
	// LocalURL is tried next: a server already running on this machine.
	LocalURL string
	// StateDir holds the private cluster started when nothing else answers.
	// Default: a directory of this user's under the OS temp dir.
	StateDir string
	// NoInstall forbids installing the server binaries when none are found.
	NoInstall bool
	// ProbeTimeout bounds each check that a server answers.
	ProbeTimeout time.Duration
	// Progress receives the output of a package installation.
	Progress io.Writer
	Logger   *slog.Logger
}

func (c *DevServerConfig) setDefaults() {
	if c.LocalURL == "" {
		c.LocalURL = DefaultLocalURL
	}
	if c.StateDir == "" {
		c.StateDir = filepath.Join(os.TempDir(), "annals-devdb-"+strconv.Itoa(os.Getuid()))
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = 2 * time.Second
	}
	if c.Progress == nil {
		c.Progress = os.Stderr
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a configuration that cannot work.
func (c DevServerConfig) Validate() error {
	if !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("dev server: state dir %q must be absolute", c.StateDir)
	}
	if c.ProbeTimeout < 0 {
		return errors.New("dev server: probe timeout must be positive")
	}
	return nil
}

// DevServer finds a PostgreSQL, or starts a private throwaway cluster from
// the installed server binaries (installing them if needed), so that running
// or testing Annals needs nothing set up beforehand.
type DevServer struct {
	cfg DevServerConfig
}

// NewDevServer returns a DevServer with cfg's defaults filled in.
func NewDevServer(cfg DevServerConfig) (*DevServer, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &DevServer{cfg: cfg}, nil
}

// Up returns the URL of a usable server: the configured URL, else the local
// server if it answers, else the private cluster, started if it is not
// running.
func (d *DevServer) Up(ctx context.Context) (string, error) {
	if d.cfg.URL != "" {
		return d.cfg.URL, nil
	}
	if d.answers(ctx, d.cfg.LocalURL) {
		return d.cfg.LocalURL, nil
	}
	if u, ok := d.running(ctx); ok {
		return u, nil
	}
	return d.start(ctx)
}

// Down stops and removes the private cluster; without one it does nothing.
func (d *DevServer) Down(ctx context.Context) error {
	if _, err := os.Stat(d.cfg.StateDir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, up := d.running(ctx); up {
		bin, err := findServerBinaries()
		if err != nil {
			return fmt.Errorf("dev server: stop: %w", err)
		}
		if err := d.run(ctx, filepath.Join(bin, "pg_ctl"), "-D", d.dataDir(), "-m", "fast", "-w", "stop"); err != nil {
			return fmt.Errorf("dev server: stop: %w", err)
		}
		d.cfg.Logger.InfoContext(ctx, "stopped private PostgreSQL cluster", "dir", d.cfg.StateDir)
	}
	if err := os.RemoveAll(d.cfg.StateDir); err != nil {
		return fmt.Errorf("dev server: remove state: %w", err)
	}
	return nil
}

func (d *DevServer) dataDir() string { return filepath.Join(d.cfg.StateDir, "data") }
func (d *DevServer) pidFile() string { return filepath.Join(d.dataDir(), "postmaster.pid") }

// answers reports whether a server takes connections at u.
func (d *DevServer) answers(ctx context.Context, u string) bool {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ProbeTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return false
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx) == nil
}

// running finds the private cluster if it is up. The postmaster.pid file
// names its port on the fourth line.
func (d *DevServer) running(ctx context.Context) (string, bool) {
	f, err := os.Open(d.pidFile())
	if err != nil {
		return "", false
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for i := 0; i < 4 && lines.Scan(); i++ {
		if i < 3 {
			continue
		}
		port, err := strconv.Atoi(strings.TrimSpace(lines.Text()))
		if err != nil {
			return "", false
		}
		u := clusterURL(port)
		return u, d.answers(ctx, u)
	}
	return "", false
}

func clusterURL(port int) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// start initialises the cluster if needed and starts it on a free port.
func (d *DevServer) start(ctx context.Context) (string, error) {
	bin, err := findServerBinaries()
	if err != nil && !d.cfg.NoInstall {
		if ierr := d.install(ctx); ierr != nil {
			return "", fmt.Errorf("dev server: %w; installing failed: %w", err, ierr)
		}
		bin, err = findServerBinaries()
	}
	if err != nil {
		return "", fmt.Errorf("dev server: %w (install PostgreSQL or set ANNALS_DATABASE_URL)", err)
	}
	if err := d.prepareStateDir(); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(d.dataDir(), "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		d.cfg.Logger.InfoContext(ctx, "initialising private PostgreSQL cluster", "dir", d.cfg.StateDir)
		// Trust on a loopback-only, throwaway cluster; no fsync for speed.
		if err := d.run(ctx, filepath.Join(bin, "initdb"), "-D", d.dataDir(), "-U", "postgres",
			"-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
			return "", fmt.Errorf("dev server: initdb: %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, d.cfg.StateDir)
	if err := d.run(ctx, filepath.Join(bin, "pg_ctl"), "-D", d.dataDir(), "-l", filepath.Join(d.cfg.StateDir, "server.log"),
		"-o", opts, "-w", "-t", "60", "start"); err != nil {
		return "", fmt.Errorf("dev server: start: %w", err)
	}
	u := clusterURL(port)
	if !d.answers(ctx, u) {
		return "", fmt.Errorf("dev server: started cluster does not answer at port %d (see %s)",
			port, filepath.Join(d.cfg.StateDir, "server.log"))
	}
	d.cfg.Logger.InfoContext(ctx, "started private PostgreSQL cluster", "port", port, "dir", d.cfg.StateDir)
	return u, nil
}

// prepareStateDir creates the state directory, owned by the user the server
// runs as.
func (d *DevServer) prepareStateDir() error {
	if err := os.MkdirAll(d.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("dev server: state dir: %w", err)
	}
	if os.Geteuid() != 0 {
		return nil
	}
	uid, gid, err := serverUser()
	if err != nil {
		return err
	}
	if err := os.Chown(d.cfg.StateDir, uid, gid); err != nil {
		return fmt.Errorf("dev server: state dir: %w", err)
	}
	return nil
}

// serverUser is the account the server runs as when we are root, since
// initdb and postgres refuse to run as root.
func serverUser() (uid, gid int, err error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, fmt.Errorf("dev server: running as root needs a postgres user to run the server as: %w", err)
	}
	uid, err = strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, fmt.Errorf("dev server: postgres uid %q: %w", u.Uid, err)
	}
	gid, err = strconv.Atoi(u.Gid)
	if err != nil {
		return 0, 0, fmt.Errorf("dev server: postgres gid %q: %w", u.Gid, err)
	}
	return uid, gid, nil
}

// run executes a server program, as the postgres user when we are root.
func (d *DevServer) run(ctx context.Context, program string, args ...string) error {
	var cmd *exec.Cmd
	switch {
	case os.Geteuid() != 0:
		cmd = exec.CommandContext(ctx, program, args...)
	case haveProgram("runuser"):
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", program}, args...)...)
	default:
		cmd = exec.CommandContext(ctx, "su", "-s", "/bin/sh", "postgres", "-c", shellQuote(append([]string{program}, args...)))
	}
	cmd.Dir = d.cfg.StateDir
	// The server started by pg_ctl may keep inherited pipes open; do not
	// wait for it to close them.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(program), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// install installs the server with the system's package manager.
func (d *DevServer) install(ctx context.Context) error {
	if os.Geteuid() != 0 || !haveProgram("apt-get") {
		return errors.New("can only install with apt-get as root")
	}
	d.cfg.Logger.InfoContext(ctx, "installing PostgreSQL with apt-get")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "postgresql"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = d.cfg.Progress, d.cfg.Progress
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", args[0], err)
		}
	}
	return nil
}

// serverBinDirs are where distributions put versioned server binaries
// (Debian and Ubuntu; Red Hat and Fedora).
var serverBinDirs = []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"}

var versionNumber = regexp.MustCompile(`\d+`)

// findServerBinaries returns the directory holding initdb and pg_ctl: from
// PATH, else the newest versioned install.
func findServerBinaries() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if dir := filepath.Dir(p); isExecutable(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	var found []string
	for _, pattern := range serverBinDirs {
		dirs, err := filepath.Glob(pattern)
		if err != nil {
			return "", fmt.Errorf("find server binaries: %w", err)
		}
		for _, dir := range dirs {
			if isExecutable(filepath.Join(dir, "pg_ctl")) && isExecutable(filepath.Join(dir, "initdb")) {
				found = append(found, dir)
			}
		}
	}
	if len(found) == 0 {
		return "", errors.New("no PostgreSQL server binaries (initdb, pg_ctl) found")
	}
	return slices.MaxFunc(found, func(a, b string) int { return majorVersion(a) - majorVersion(b) }), nil
}

func majorVersion(dir string) int {
	n, _ := strconv.Atoi(versionNumber.FindString(dir))
	return n
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && info.Mode()&0o111 != 0
}

func haveProgram(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// freePort asks the kernel for a loopback port nobody uses right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("dev server: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// shellQuote joins arguments into one POSIX shell command line.
func shellQuote(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}
