"""A real OpenLDAP `slapd` on loopback, as a hospital's directory: people, groups, StartTLS and LDAPS."""

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from tests.conftest import unused_port
from tests.syslog import wait_for_port

SLAPD, SLAPADD = Path("/usr/sbin/slapd"), Path("/usr/sbin/slapadd")
SUFFIX = "dc=example-hospital,dc=org"
ADMIN_DN, ADMIN_PASSWORD = f"cn=admin,{SUFFIX}", "directory-admin-secret"
PASSWORDS = {"ana": "ana-Directory-pw1", "cora": "cora-Directory-pw2", "nobody": "nobody-Directory-pw3",
             "root": "root-Directory-pw4"}
# The groups each person is in.
GROUPS = {"analysts": ["ana", "cora"], "compliance": ["cora"], "marketing": [], "it-admins": ["root"]}


def person(uid: str) -> str:
    return f"uid={uid},ou=people,{SUFFIX}"


def group(name: str) -> str:
    return f"cn={name},ou=groups,{SUFFIX}"


class Slapd:
    def __init__(self, directory: Path, ca: trustme.CA, ca_file: Path, port: int, tls_port: int) -> None:
        self.directory, self.ca, self.ca_file = directory, ca, ca_file
        self.url, self.tls_url = f"ldap://127.0.0.1:{port}", f"ldaps://127.0.0.1:{tls_port}"


def _ldif() -> str:
    entries = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example Hospital\ndc: example-hospital",
               f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people",
               f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups"]
    entries += [f"dn: {person(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nuserPassword: {pw}"
                for uid, pw in PASSWORDS.items()]
    # groupOfNames needs a member: the admin stands in for an empty group.
    entries += [f"dn: {group(name)}\nobjectClass: groupOfNames\ncn: {name}\n"
                + "\n".join(f"member: {person(uid)}" for uid in members or []) + ("" if members else f"member: {ADMIN_DN}")
                for name, members in GROUPS.items()]
    return "\n\n".join(entries) + "\n"


@contextmanager
def slapd(directory: Path) -> Iterator[Slapd]:
    """slapd in the foreground with a database of its own, its certificate from a CA made here."""
    if not SLAPD.exists():
        pytest.skip("OpenLDAP's slapd is not installed (Debian: apt install slapd)")
    (directory / "db").mkdir(parents=True)
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = directory / "slapd.crt", directory / "slapd.key", directory / "ca.crt"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    config = directory / "slapd.conf"
    config.write_text(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {directory}/slapd.pid
TLSCACertificateFile {ca_file}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
database mdb
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {directory}/db
access to attrs=userPassword by self read by anonymous auth by * none
access to * by * read
""")
    (directory / "data.ldif").write_text(_ldif())
    subprocess.run([str(SLAPADD), "-f", str(config), "-l", str(directory / "data.ldif")], check=True,
                   capture_output=True)
    running = Slapd(directory, ca, ca_file, unused_port(), unused_port())
    process = subprocess.Popen([str(SLAPD), "-f", str(config), "-h", f"{running.url}/ {running.tls_url}/", "-d", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(int(running.url.rsplit(":", 1)[1]), process)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
