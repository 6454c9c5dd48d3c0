"""Test certificates, made in the test session: self-signed identities for
mutual TLS (``server``, ``client``, ``stranger``...), written as PEM files.

:func:`make_identity` uses the ``cryptography`` package (a test dependency),
so nothing depends on an ``openssl`` command being installed;
:func:`make_identity_with_openssl` makes the same kind of identity with that
command, the way upstream sipyco's tests do, for the test that checks such
certificates work too.
"""

from __future__ import annotations

import datetime
import pathlib
import shutil
import subprocess
from typing import NamedTuple

__all__ = ["Identity", "make_identity", "make_identity_with_openssl", "bundle",
           "make_identities", "OPENSSL"]

#: The openssl command, or None when it is not installed.
OPENSSL = shutil.which("openssl")


class Identity(NamedTuple):
    """One side's certificate and private key (PEM files)."""

    name: str
    cert: pathlib.Path
    key: pathlib.Path


def make_identity(folder: pathlib.Path, name: str, *, days: int = 2) -> Identity:
    """A new P-256 key and a self-signed certificate for it (subject
    ``CN=name``), written to ``folder/name.pem`` and ``folder/name.key``.

    The certificate looks like what ``openssl req -x509`` makes: it is its own
    authority (basic constraints CA:TRUE) with subject and authority key
    identifiers, so it can be a trust anchor under strict verification too.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    key_path.chmod(0o600)
    return Identity(name, cert_path, key_path)


def make_identity_with_openssl(folder: pathlib.Path, name: str, *, days: int = 2) -> Identity:
    """The same as :func:`make_identity`, made by the ``openssl`` command
    (``openssl req -x509 -newkey ...``, as upstream's tests do).  Raises
    RuntimeError when the command is not installed."""
    if OPENSSL is None:
        raise RuntimeError("the openssl command is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", str(days), "-subj", f"/CN={name}",
                    "-keyout", str(key_path), "-out", str(cert_path)],
                   check=True, capture_output=True)
    return Identity(name, cert_path, key_path)


def bundle(path: pathlib.Path, *identities: Identity) -> pathlib.Path:
    """One PEM file holding the certificates of ``identities``, in order (a
    ``peer_cert`` trusting several peers)."""
    path.write_text("".join(i.cert.read_text() for i in identities))
    return path


def make_identities(folder: pathlib.Path, names=("server", "client", "stranger")
                    ) -> dict[str, Identity]:
    """:func:`make_identity` for each of ``names``."""
    return {name: make_identity(folder, name) for name in names}
