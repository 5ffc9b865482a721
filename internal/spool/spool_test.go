package spool

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act as a job writer process (SPOOL_WRITER=dir).
func TestMain(m *testing.M) {
	if path := os.Getenv("SPOOL_HOLDER"); path != "" {
		// A build's stand-in: hold the job's lock until stdin closes.
		h, err := Hold(path)
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		io.Copy(io.Discard, os.Stdin)
		h.Release()
		os.Exit(0)
	}
	if dir := os.Getenv("SPOOL_WRITER"); dir != "" {
		s, err := Open(dir)
		if err != nil {
			os.Exit(3)
		}
		n, _ := strconv.Atoi(os.Getenv("SPOOL_WRITES"))
		for i := 0; i < n; i++ {
			if _, err := s.Write(job); err != nil {
				os.Exit(4)
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var job = Job{Project: "web", Ref: "refs/heads/main", Commit: strings.Repeat("a", 40), Source: SourceWatch}

func openSpool(t *testing.T) *Spool {
	s, err := Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWriteDeliversIntoNewInFIFOOrder(t *testing.T) {
	s := openSpool(t)
	var names []string
	for i := 0; i < 5; i++ {
		name, err := s.Write(job)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	entries, err := s.List(New)
	if err != nil || len(entries) != 5 {
		t.Fatalf("List(new) = %v, %v", entries, err)
	}
	for i, e := range entries {
		if e.Name != names[i] {
			t.Errorf("entry %d is %s, want %s (FIFO)", i, e.Name, names[i])
		}
	}
	if tmp, _ := s.List(Tmp); len(tmp) != 0 {
		t.Errorf("tmp/ is not empty after writing: %v", tmp)
	}
	got, err := s.Read(New, names[0])
	if err != nil || got.Project != job.Project || got.Ref != job.Ref || got.Commit != job.Commit || got.Created.IsZero() {
		t.Errorf("Read = %+v, %v", got, err)
	}
}

func TestClaimOnlyOnce(t *testing.T) {
	s := openSpool(t)
	name, _ := s.Write(job)
	if err := s.Claim(name); err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(name); !errors.Is(err, ErrClaimed) {
		t.Errorf("second Claim = %v, want ErrClaimed", err)
	}
	if err := s.Remove(Cur, name); err != nil {
		t.Fatal(err)
	}
	if entries, _ := s.List(Cur); len(entries) != 0 {
		t.Errorf("cur/ after Remove: %v", entries)
	}
}

// TestWritersRacingAReaderNeverShowAPartialFile: processes write jobs while a reader reads
// every file it sees in new/; every read must be a whole, valid job.
func TestWritersRacingAReaderNeverShowAPartialFile(t *testing.T) {
	s := openSpool(t)
	const writers, each = 4, 100
	var procs []*exec.Cmd
	for i := 0; i < writers; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=NONE")
		cmd.Env = append(os.Environ(), "SPOOL_WRITER="+s.dir, "SPOOL_WRITES=100")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	seen := map[string]bool{}
	done := make(chan error, writers)
	for _, p := range procs {
		go func(p *exec.Cmd) { done <- p.Wait() }(p)
	}
	finished := 0
	for finished < writers || len(seen) < writers*each {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("writer: %v", err)
			}
			finished++
		default:
		}
		entries, _ := s.List(New)
		for _, e := range entries {
			if seen[e.Name] {
				continue
			}
			j, err := s.Read(New, e.Name)
			if err != nil {
				t.Fatalf("read %s while writers run: %v", e.Name, err)
			}
			if j.Project != job.Project {
				t.Fatalf("read %s: %+v", e.Name, j)
			}
			seen[e.Name] = true
		}
		if finished == writers && len(seen) < writers*each && len(entries) == len(seen) {
			t.Fatalf("writers are done but only %d of %d jobs arrived", len(seen), writers*each)
		}
	}
}

func TestRejectKeepsTheFileWithAReason(t *testing.T) {
	s := openSpool(t)
	os.WriteFile(s.Path(New, "broken"), []byte("{nope"), 0o644)
	_, err := s.Read(New, "broken")
	var rej *RejectError
	if !errors.As(err, &rej) {
		t.Fatalf("Read = %v, want a RejectError", err)
	}
	if dest, err := s.Reject(New, "broken", rej.Reason); err != nil || dest != s.Path(Bad, "broken") {
		t.Fatal(dest, err)
	}
	if data, _ := os.ReadFile(s.Path(Bad, "broken")); string(data) != "{nope" {
		t.Errorf("bad/broken = %q", data)
	}
	if reason, _ := os.ReadFile(s.Path(Bad, "broken.reason")); !strings.Contains(string(reason), "not a job") {
		t.Errorf("bad/broken.reason = %q", reason)
	}
}

// TestRejectNeverReplacesAFileSetAside: a file named like the reason of another (x.reason)
// is set aside first; the reason of x, set aside after it, does not replace it.
func TestRejectNeverReplacesAFileSetAside(t *testing.T) {
	s := openSpool(t)
	os.WriteFile(s.Path(New, "x.reason"), []byte("first"), 0o644)
	if _, err := s.Reject(New, "x.reason", "not a job"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(s.Path(New, "x"), []byte("second"), 0o644)
	dest, err := s.Reject(New, "x", "not a job either")
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(s.Path(Bad, "x.reason")); string(data) != "first" {
		t.Errorf("bad/x.reason = %q: the first file set aside was replaced", data)
	}
	if data, _ := os.ReadFile(dest); string(data) != "second" {
		t.Errorf("%s = %q", dest, data)
	}
	if reason, _ := os.ReadFile(dest + ".reason"); !strings.Contains(string(reason), "not a job either") {
		t.Errorf("%s.reason = %q", dest, reason)
	}
}

func TestDecodeJobRefusesHostileFiles(t *testing.T) {
	c := strings.Repeat("a", 40)
	cases := map[string]string{
		"not json":          `project=web`,
		"two values":        `{"project":"web","ref":"refs/heads/main"} {}`,
		"too large":         `{"project":"web","ref":"refs/heads/main","source":"` + strings.Repeat("x", MaxJobSize) + `"}`,
		"unknown key":       `{"project":"web","ref":"refs/heads/main","remote":"ext::sh -c id"}`,
		"no ref":            `{"project":"web"}`,
		"traversal":         `{"project":"../web","ref":"refs/heads/main"}`,
		"internal state":    `{"project":".pipelined","ref":"refs/heads/main"}`,
		"option ref":        `{"project":"web","ref":"refs/heads/-x"}`,
		"git rejects ref":   `{"project":"web","ref":"refs/heads/a..b"}`,
		"newline in ref":    `{"project":"web","ref":"refs/heads/a\nb"}`,
		"short commit":      `{"project":"web","ref":"refs/heads/main","commit":"abc"}`,
		"upper-case commit": `{"project":"web","ref":"refs/heads/main","commit":"` + strings.ToUpper(c) + `"}`,
		"bad source":        `{"project":"web","ref":"refs/heads/main","source":"Web Hook"}`,
	}
	for name, text := range cases {
		_, err := DecodeJob(strings.NewReader(text))
		var rej *RejectError
		if !errors.As(err, &rej) || rej.Reason == "" {
			t.Errorf("%s: DecodeJob = %v, want a RejectError with a reason", name, err)
		}
	}
	ok := `{"project":"web","ref":"refs/tags/v1","commit":"` + c + `","source":"webhook","created":"2026-11-27T06:00:00Z","rebuild":true}`
	if j, err := DecodeJob(strings.NewReader(ok)); err != nil || !j.Rebuild {
		t.Errorf("a valid job was refused or lost its rebuild field: %+v, %v", j, err)
	}
	// Attempts are the daemon's own: a file that sets them is built, its attempts ignored.
	own := `{"project":"web","ref":"refs/heads/main","attempts":[{"at":"2099-01-01T00:00:00Z","reason":"x"}]}`
	j, err := DecodeJob(strings.NewReader(own))
	if err != nil || len(j.Attempts) != 0 || len(j.Ignored) != 1 || j.Ignored[0] != "attempts" {
		t.Errorf("a job with attempts of its own = %+v, %v; want them ignored and said so", j, err)
	}
}

func TestCleanTmpRemovesOnlyStaleFiles(t *testing.T) {
	s := openSpool(t)
	os.WriteFile(s.Path(Tmp, "stale"), nil, 0o644)
	os.WriteFile(s.Path(Tmp, "fresh"), nil, 0o644)
	old := time.Now().Add(-25 * time.Hour)
	os.Chtimes(s.Path(Tmp, "stale"), old, old)
	s.CleanTmp(24 * time.Hour)
	if _, err := os.Stat(s.Path(Tmp, "stale")); !os.IsNotExist(err) {
		t.Error("a day-old file in tmp/ was kept")
	}
	if _, err := os.Stat(s.Path(Tmp, "fresh")); err != nil {
		t.Error("a fresh file in tmp/ was removed")
	}
}

func TestNotifierHintsOnDelivery(t *testing.T) {
	s := openSpool(t)
	n, err := s.Notify()
	if err != nil {
		t.Fatal(err)
	}
	go n.Run(t.Context(), nil)
	if _, err := s.Write(job); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.C:
	case <-time.After(10 * time.Second):
		t.Fatal("no hint after a job was written")
	}
}
