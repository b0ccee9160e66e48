"""TLS certificates for a Dask cluster: one private CA, and scheduler, worker and client certs.

``statmech certs DIR`` writes::

    DIR/ca.pem  ca-key.pem            the cluster's own certificate authority
    DIR/scheduler.pem  scheduler-key.pem
    DIR/worker.pem     worker-key.pem
    DIR/client.pem     client-key.pem

Every certificate is signed by the CA and valid for server *and* client authentication (Dask
uses mutual TLS: each side checks the other's certificate against ``ca.pem``). A process without
a certificate signed by this CA cannot connect: it cannot submit work (pickled tasks run code on
the workers, so an open scheduler is remote code execution). Private keys are written 0600.
Give the scheduler, the workers and the clients the CA certificate and their own pair; keep
``ca-key.pem`` away from the cluster (it is needed only to issue more certificates).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path
from typing import Any

from statmech.errors import InputError

ROLES = ("scheduler", "worker", "client")


def paths(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """The files of :func:`create`: keys ``ca``, ``ca_key``, ``<role>``, ``<role>_key``."""
    d = Path(folder)
    out = {"ca": d / "ca.pem", "ca_key": d / "ca-key.pem"}
    for role in ROLES:
        out[role] = d / f"{role}.pem"
        out[f"{role}_key"] = d / f"{role}-key.pem"
    return out


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _write_cert(path: Path, cert: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def create(folder: str | os.PathLike[str], hosts: tuple[str, ...] = (), days: int = 365,
           overwrite: bool = False) -> dict[str, Path]:
    """Write a CA and a scheduler, worker and client certificate into ``folder``.

    ``hosts`` are extra DNS names or IP addresses of the scheduler (Dask checks the chain of
    trust, not host names, but other TLS clients may). Refuses to overwrite an existing CA
    unless ``overwrite``.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    out = paths(folder)
    if out["ca"].exists() and not overwrite:
        raise InputError(f"{out['ca']} exists: keep these certificates, or pass --overwrite to "
                         "replace them all (every node then needs the new files)")
    Path(folder).mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    valid = (now - dt.timedelta(minutes=5), now + dt.timedelta(days=days))

    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "statmech cluster CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(valid[0]).not_valid_after(valid[1])
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    _write_key(out["ca_key"], ca_key)
    _write_cert(out["ca"], ca)

    names: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    for h in ("dask-scheduler", *hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    for role in ROLES:
        key = _key()
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                            f"statmech {role}")]))
                .issuer_name(ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(valid[0]).not_valid_after(valid[1])
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False)
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .sign(ca_key, hashes.SHA256()))
        _write_key(out[f"{role}_key"], key)
        _write_cert(out[role], cert)
    return out


def security(folder: str | os.PathLike[str], role: str = "client") -> Any:
    """A ``distributed.security.Security`` requiring TLS, with ``role``'s certificate."""
    from distributed.security import Security

    p = paths(folder)
    for f in (p["ca"], p[role], p[f"{role}_key"]):
        if not f.is_file():
            raise InputError(f"TLS folder {folder}: {f.name} is missing; create the "
                             f"certificates with `statmech certs {folder}`")
    kwargs = {"tls_ca_file": str(p["ca"]), "require_encryption": True,
              f"tls_{role}_cert": str(p[role]), f"tls_{role}_key": str(p[f"{role}_key"])}
    return Security(**kwargs)
