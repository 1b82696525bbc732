"""TLS for real: a throwaway CA signs a redis-server's certificate (and a client's), and
ragtui talks rediss:// to it. A wrong CA or a wrong password is named as such and never
taken for an outage: auto mode does not fall back to the local store."""
from __future__ import annotations

import subprocess

import pytest
import redis

from ragtui.cli import main
from ragtui.config import ConfigError, load_settings
from ragtui.sessions import StoreUnavailable, open_store, open_store_from_settings
from tests.redis_server import RedisServer, free_port, require_binary

PASSWORD = "tls-Pa55word-7f3c"


def _openssl(*args: str, cwd) -> None:
    subprocess.run([require_binary("openssl"), *args], cwd=cwd, check=True, capture_output=True)


def _signed(directory, name: str, subject: str, ca: str = "ca") -> None:
    """name.key + name.crt, signed by ca.crt/ca.key, valid for 127.0.0.1 and localhost."""
    (directory / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=directory)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=directory)


def _ca(directory, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN=ragtui test {name}",
             cwd=directory)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    _ca(directory, "ca")
    _ca(directory, "other-ca")  # trusted by nobody here: "the wrong CA"
    _signed(directory, "server", "/CN=localhost")
    _signed(directory, "client", "/CN=ragtui client")
    return directory


@pytest.fixture(scope="module")
def tls_redis(certs, tmp_path_factory):
    """redis-server with a password, TLS on `tls_port` (client certificates required) and
    its plain port for the test's own checks."""
    server = RedisServer(tmp_path_factory.mktemp("tls-redis"), password=PASSWORD)
    server.tls_port = free_port()
    server.args = ("--tls-port", str(server.tls_port), "--tls-cert-file", str(certs / "server.crt"),
                   "--tls-key-file", str(certs / "server.key"), "--tls-ca-cert-file", str(certs / "ca.crt"),
                   "--tls-auth-clients", "yes")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tls_env(monkeypatch, certs, tls_redis):
    """Settings for the TLS port: the password and the files from the environment."""
    monkeypatch.setenv("RAGTUI_REDIS_PASSWORD", PASSWORD)
    monkeypatch.setenv("RAGTUI_REDIS_SSL_CA_CERTS", str(certs / "ca.crt"))
    monkeypatch.setenv("RAGTUI_REDIS_SSL_CERTFILE", str(certs / "client.crt"))
    monkeypatch.setenv("RAGTUI_REDIS_SSL_KEYFILE", str(certs / "client.key"))
    return f"rediss://127.0.0.1:{tls_redis.tls_port}/0"


def test_rediss_with_the_right_ca_and_client_certificate_works(tls_env, tls_redis, tmp_path, capsys):
    settings = load_settings({"store": tls_env, "user": "alice", "data_dir": tmp_path / "data"})
    store = open_store_from_settings(settings)
    sid = store.create_session("alice", "over TLS")
    store.add_message(sid, "user", "hello through TLS")
    assert store.health == "ok" and store.describe().startswith("Redis ✓ rediss://")
    store.close()
    plain = redis.Redis.from_url(tls_redis.url, decode_responses=True)  # the same server, plain port
    assert plain.dbsize() > 0
    plain.close()

    assert main(["--store", tls_env, "doctor"]) in (0, 1)  # the model checks are not this test's business
    out = capsys.readouterr().out
    assert "✓ session store  Redis ✓ rediss://" in out and "✓ redis TLS" in out


def test_a_wrong_ca_is_a_tls_failure_with_its_reason_and_no_fallback(tls_env, certs, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RAGTUI_REDIS_SSL_CA_CERTS", str(certs / "other-ca.crt"))
    url = tls_env
    for target in ("auto", "redis"):
        settings = load_settings({"store": target, "redis_url": url, "data_dir": tmp_path / "data"})
        with pytest.raises(StoreUnavailable, match=r"TLS failed: certificate verify failed") as failed:
            open_store_from_settings(settings)
        assert "unreachable" not in str(failed.value)
    assert not (tmp_path / "data" / "store" / "outbox.journal").exists()  # nothing went local

    assert main(["--redis-url", url, "sessions", "list"]) == 2  # auto (the default) refuses too
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ragtui: Redis at rediss://127.0.0.1:")
    assert "TLS failed: certificate verify failed" in err


def test_a_wrong_password_over_tls_is_an_authentication_failure_and_no_fallback(tls_env, monkeypatch, tmp_path):
    monkeypatch.setenv("RAGTUI_REDIS_PASSWORD", "not-the-password")
    for target in ("auto", "redis"):
        settings = load_settings({"store": target, "redis_url": tls_env, "data_dir": tmp_path / "data"})
        with pytest.raises(StoreUnavailable, match="authentication failed") as failed:
            open_store_from_settings(settings)
        assert "not-the-password" not in str(failed.value) and "unreachable" not in str(failed.value)
    assert not (tmp_path / "data" / "store" / "outbox.journal").exists()


def test_unchecked_certificates_are_warned_about_once(tls_env, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("RAGTUI_REDIS_SSL_CA_CERTS")
    url = f"{tls_env}?ssl_cert_reqs=none"
    assert main(["--store", url, "sessions", "list"]) == 0
    err = capsys.readouterr().err
    assert err.count("TLS without certificate checks (ssl_cert_reqs=none)") == 1
    main(["--store", url, "doctor"])
    assert "✗ redis TLS      TLS without certificate checks" in capsys.readouterr().out


def test_tls_files_need_a_rediss_url_and_must_exist(tls_env, tls_redis, certs, monkeypatch, tmp_path):
    settings = load_settings({"store": f"redis://127.0.0.1:{tls_redis.port}/0", "data_dir": tmp_path})
    with pytest.raises(ConfigError, match="redis_ssl_ca_certs.*not a rediss:// URL"):
        open_store_from_settings(settings)
    with pytest.raises(ConfigError, match="ssl_cert_reqs given, but redis://127.0.0.1:.* is not a rediss:// URL"):
        open_store("auto", redis_url=f"redis://127.0.0.1:{tls_redis.port}/0?ssl_cert_reqs=none", data_dir=tmp_path)
    monkeypatch.setenv("RAGTUI_REDIS_SSL_CA_CERTS", str(certs / "missing.crt"))
    with pytest.raises(ConfigError, match="redis_ssl_ca_certs.*no file"):
        open_store_from_settings(load_settings({"store": tls_env, "data_dir": tmp_path}))


async def test_the_stats_pane_warns_when_the_certificate_is_not_checked(tls_env, monkeypatch, tmp_path):
    from tests.tui.conftest import make_app, screen_text, until

    monkeypatch.delenv("RAGTUI_REDIS_SSL_CA_CERTS")
    settings = load_settings({"store": f"{tls_env}?ssl_cert_reqs=none", "user": "alice", "data_dir": tmp_path})
    app = make_app(settings, open_store_from_settings(settings))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "⚠ TLS" in screen_text(app), what="the TLS warning")
        assert "certificate is not" in screen_text(app)
