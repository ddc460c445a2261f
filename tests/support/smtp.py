"""A real SMTP server for tests: aiosmtpd on a free loopback port, keeping every message it receives.

    with SmtpServer() as smtp:
        app = make_test_app(url, **smtp.config)
        ...
        message = smtp.wait_for(1)[0]
        message.to, message.subject, message.text, message.html, message.attachments
"""
from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "strategie"
PASSWORD = "smtp-geheim"


@dataclass
class Received:
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> str:
        return str(self.message["To"])

    def _part(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else ""

    @property
    def text(self) -> str:
        return self._part("plain")

    @property
    def html(self) -> str:
        return self._part("html")

    @property
    def attachments(self) -> list[tuple[str, str, bytes]]:
        """(filename, content type with parameters, bytes) of each attachment."""
        return [(part.get_filename(), part["Content-Type"], part.get_payload(decode=True))
                for part in self.message.iter_attachments()]


class SmtpServer:
    """aiosmtpd's Controller on 127.0.0.1.

    `starttls_login` makes it a submission server as production has one: STARTTLS required (a self-signed
    certificate for 127.0.0.1, which `config` names as MAIL_CA_FILE), then AUTH with USERNAME/PASSWORD.
    """

    def __init__(self, *, starttls_login: bool = False):
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self.port = _free_port()
        self.starttls_login = starttls_login
        kwargs = {}
        self._folder = None
        if starttls_login:
            self._folder = tempfile.TemporaryDirectory(prefix="smtp-tls-")
            self.ca_file = str(Path(self._folder.name) / "cert.pem")
            key_file = str(Path(self._folder.name) / "key.pem")
            _self_signed_certificate(self.ca_file, key_file)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.ca_file, key_file)
            kwargs = {"tls_context": context, "require_starttls": True, "auth_required": True,
                      "auth_require_tls": True, "authenticator": self._authenticate}
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def config(self) -> dict:
        """The app settings that send to this server."""
        config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_SECURITY": "none",
                  "MAIL_SENDER": "Gesamtstrategie <noreply@strategie.example>", "MAIL_TIMEOUT": 10}
        if self.starttls_login:
            config.update(MAIL_SECURITY="starttls", MAIL_CA_FILE=self.ca_file, MAIL_USERNAME=USERNAME,
                          MAIL_PASSWORD=PASSWORD)
        return config

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()
        if self._folder is not None:
            self._folder.cleanup()

    @staticmethod
    def _authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME.encode() \
            and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        """The messages received once there are at least `count` (background delivery takes a moment)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} message(s), the SMTP server received {len(self.messages)}")

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if address in m.envelope_to]


def _self_signed_certificate(cert_file: str, key_file: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    Path(cert_file).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    Path(key_file).write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
