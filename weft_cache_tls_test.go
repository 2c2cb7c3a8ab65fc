package weft

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/cache"
	"github.com/weft-dev/weft/config"
)

// TestRedissVerifiesTheServer: cache.redis_url with rediss:// speaks TLS
// and verifies the server's certificate — a redis-server of the test's own
// with a self-signed certificate is refused (x509: unknown authority), and
// the cache says so instead of falling back silently (fallback off).
func TestRedissVerifiesTheServer(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", certFile,
		"--tls-auth-clients", "no", "--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server (required for this test): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		var seen strings.Builder
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			seen.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- ""
				io.Copy(io.Discard, out)
				return
			}
		}
		ready <- seen.String()
	}()
	select {
	case early := <-ready:
		if early != "" {
			t.Fatalf("redis-server with TLS did not start:\n%s", early)
		}
	case <-time.After(10 * time.Second): // a correctness bound
		t.Fatal("redis-server did not accept connections within 10 s")
	}

	cfg := config.Default()
	cfg.Cache.RedisURL = fmt.Sprintf("rediss://127.0.0.1:%d/0", port)
	cfg.Cache.Fallback = false
	tier, err := newCacheTier(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer tier.close()
	if _, _, err := tier.tiered.Get(context.Background(), cache.Key(cache.KindSearch, "x")); !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("Get over rediss:// to a self-signed server: %v; want ErrUnavailable", err)
	}
	// Why: the tier's client refuses the certificate. (A generous bound
	// here, so that a slow handshake on a loaded machine is not mistaken
	// for the answer.)
	if len(tier.clients) != 1 {
		t.Fatalf("%d Redis clients, want 1", len(tier.clients))
	}
	for _, c := range tier.clients {
		err := cache.NewRedis(c, cache.RedisOptions{Timeout: 30 * time.Second}).Ping(context.Background())
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) && (err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority")) {
			t.Fatalf("PING over rediss:// to a self-signed server: %v; want x509: certificate signed by unknown authority", err)
		}
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "weft-test-redis"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
