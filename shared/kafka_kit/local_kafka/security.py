"""A secured local cluster: SASL_SSL with a throwaway CA, SCRAM users and ACLs.

``LocalKafkaCluster(security=ClusterSecurity.sasl_ssl(directory))`` — made by the launcher at
start: a CA and a broker certificate for ``127.0.0.1``/``localhost`` (openssl), SCRAM-SHA-256/512
users written into the metadata when the storage is formatted (PLAIN users in the listener's JAAS
config), ``StandardAuthorizer`` with ``admin`` as super user. Brokers talk to each other over the
same SASL_SSL listener as ``admin``; the KRaft controller listener stays on loopback PLAINTEXT,
whose anonymous principal must be a super user (brokers reach the controllers through it).
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka_kit.errors import KafkaLaunchError

__all__ = ["ClusterSecurity"]

MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
ADMIN = "admin"


@dataclass(frozen=True)
class ClusterSecurity:
    """Where the CA and broker key live, and every user's password."""

    directory: Path
    """Where the CA, the broker key store and the trust store are."""
    users: dict[str, str] = field(default_factory=dict)
    """Every SCRAM user's password (``admin`` included)."""

    @classmethod
    def sasl_ssl(cls, directory: Path, users: tuple[str, ...] = ("app",)) -> ClusterSecurity:
        """Make the CA, the broker certificate and passwords for ``admin`` and ``users``.

        Args:
            directory: Where to make the files.
            users: SCRAM users besides ``admin``.
        """
        directory.mkdir(parents=True, exist_ok=True)
        passwords = {name: secrets.token_urlsafe(12) for name in (ADMIN, *users)}
        security = cls(directory, passwords)
        security._make_certificates()
        return security

    @property
    def ca_file(self) -> Path:
        """The CA certificate (PEM) clients trust."""
        return self.directory / "ca.pem"

    @property
    def keystore(self) -> Path:
        """The brokers' private key and certificate chain (PEM)."""
        return self.directory / "broker-keystore.pem"

    def _make_certificates(self) -> None:
        d = self.directory
        (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        steps = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=kafka-local throwaway CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key",
             "-out", "broker.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-out", "broker.pem", "-extfile", "san.cnf"],
        ]  # fmt: skip
        for step in steps:
            done = subprocess.run(
                ["openssl", *step], cwd=d, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise KafkaLaunchError(f"openssl {step[0]} failed: {done.stderr[-2000:]}")
        key, cert, ca = (d / name for name in ("broker.key", "broker.pem", "ca.pem"))
        self.keystore.write_text(key.read_text() + cert.read_text() + ca.read_text())

    def broker_properties(self, broker_port: int, controller_port: int) -> dict[str, str]:
        """The listener, TLS, SASL and authorizer part of a node's ``server.properties``.

        Args:
            broker_port: The node's client listener port.
            controller_port: Its controller listener port.
        """
        admin = self.users[ADMIN]
        plain_users = " ".join(f'user_{name}="{pw}"' for name, pw in self.users.items())
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule required"
        return {
            "listeners": (
                f"SASL_SSL://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}"
            ),
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{broker_port}",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                f'{scram} username="{ADMIN}" password="{admin}";'
            ),
            "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": f"{scram};",
            "listener.name.sasl_ssl.plain.sasl.jaas.config": (
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="{ADMIN}" password="{admin}" {plain_users};'
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{ADMIN};User:ANONYMOUS",
        }

    def format_arguments(self) -> list[str]:
        """``--add-scram`` arguments: every user, both SCRAM mechanisms, stored at format."""
        return [
            argument
            for name, password in self.users.items()
            for mechanism in MECHANISMS
            for argument in ("--add-scram", f"{mechanism}=[name={name},password={password}]")
        ]

    def client_settings(
        self, user: str = ADMIN, mechanism: str = "SCRAM-SHA-512"
    ) -> dict[str, Any]:
        """``KafkaSettings`` fields to connect as ``user`` (all but the bootstrap servers).

        Args:
            user: The SCRAM user.
            mechanism: ``SCRAM-SHA-512``, ``SCRAM-SHA-256`` or ``PLAIN``.
        """
        return {
            "security_protocol": "SASL_SSL",
            "ssl_cafile": str(self.ca_file),
            "sasl_mechanism": mechanism,
            "sasl_username": user,
            "sasl_password": self.users[user],
        }

    def java_client_properties(self, user: str = ADMIN) -> str:
        """A ``--command-config`` file's text for Kafka's own tools, as ``user``.

        Args:
            user: The SCRAM user.
        """
        return (
            "security.protocol=SASL_SSL\n"
            "sasl.mechanism=SCRAM-SHA-512\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{user}" password="{self.users[user]}";\n'
            "ssl.truststore.type=PEM\n"
            f"ssl.truststore.location={self.ca_file}\n"
        )
