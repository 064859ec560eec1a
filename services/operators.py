"""Console operators: accounts, passwords, sign-up links, the login rate limit.

Passwords are hashed with argon2id (argon2-cffi's defaults: 64 MiB, t=3,
p=4), a memory-hard hash.  A new operator either gets a password at once
(``flask operator create`` reading standard input) or a one-time sign-up
link valid for SIGNUP_LIFETIME; only the sha256 of its token is stored.

Logins are rate-limited in the database, which every web worker sees: after
MAX_FAILURES failed attempts for an account, or from an address, within
FAILURE_WINDOW, further attempts are refused without checking the password
(the web layer answers 429).  An unknown e-mail costs the same hash as a
known one, so timing does not tell which accounts exist.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from peewee import IntegrityError, fn

from models import LoginAttempt, Operator, Organisation, db, naive, utc

ROLES = {"admin": "管理者", "staff": "職員"}
MIN_PASSWORD = 12
MAX_PASSWORD = 256  # argon2 would take more, but nobody types more
SIGNUP_LIFETIME = timedelta(hours=72)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both paths cost one hash.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class OperatorError(ValueError):
    """The request cannot be done; the message is for the operator (Japanese)."""


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise OperatorError("メールアドレスの形をご確認ください。")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise OperatorError(f"パスワードは{MIN_PASSWORD}文字以上にしてください。")
    if len(password) > MAX_PASSWORD:
        raise OperatorError(f"パスワードは{MAX_PASSWORD}文字以内にしてください。")


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_operator(
    org: Organisation,
    email: str,
    role: str,
    now: datetime,
    *,
    name: str = "",
    password: str | None = None,
) -> tuple[Operator, str | None]:
    """A new operator of ``org``.  With ``password`` it can log in at once;
    without, the returned sign-up token (put it in the link) lets them set
    one within SIGNUP_LIFETIME.  Raises OperatorError."""
    if role not in ROLES:
        raise OperatorError(f"役割は {' / '.join(ROLES)} のどちらかです。")
    email = normalise_email(email)
    password_hash = hash_password(password) if password is not None else None
    token = None if password is not None else secrets.token_urlsafe(32)
    try:
        with db.atomic():
            operator = Operator.create(
                organisation=org,
                email=email,
                name=name.strip()[:100],
                role=role,
                password_hash=password_hash,
                session_token=secrets.token_hex(32),
                signup_token_hash=_token_hash(token) if token else None,
                signup_expires_at=naive(now + SIGNUP_LIFETIME) if token else None,
                created_at=naive(now),
            )
    except IntegrityError:
        raise OperatorError("このメールアドレスの担当者はすでに登録されています。") from None
    return operator, token


def new_signup_link(operator: Operator, now: datetime) -> str:
    """A fresh one-time sign-up token for ``operator`` (the old one stops working)."""
    token = secrets.token_urlsafe(32)
    Operator.update(
        signup_token_hash=_token_hash(token), signup_expires_at=naive(now + SIGNUP_LIFETIME)
    ).where(Operator.id == operator.id).execute()
    return token


def operator_for_signup(token: str, now: datetime) -> Operator | None:
    if not token or len(token) > 100:
        return None
    return Operator.get_or_none(
        (Operator.signup_token_hash == _token_hash(token))
        & (Operator.signup_expires_at > naive(now))
        & Operator.active
    )


def complete_signup(token: str, password: str, now: datetime) -> Operator | None:
    """Set the password of the operator the token belongs to and spend the
    token (compare-and-set: a token works once).  None if it is unknown,
    spent or expired.  Raises OperatorError for a weak password."""
    password_hash = hash_password(password)
    with db.atomic():
        operator = operator_for_signup(token, now)
        if operator is None:
            return None
        won = (
            Operator.update(
                password_hash=password_hash,
                signup_token_hash=None,
                signup_expires_at=None,
                session_token=secrets.token_hex(32),
            )
            .where((Operator.id == operator.id) & (Operator.signup_token_hash == _token_hash(token)))
            .execute()
        )
    return Operator.get_by_id(operator.id) if won else None


def set_password(operator: Operator, password: str) -> Operator:
    """A new password; every other session of this operator ends."""
    Operator.update(password_hash=hash_password(password), session_token=secrets.token_hex(32)).where(
        Operator.id == operator.id
    ).execute()
    return Operator.get_by_id(operator.id)


@dataclass(frozen=True)
class LoginResult:
    operator: Operator | None
    limited: bool = False  # refused without checking: too many failures


def failures(email: str, address: str, now: datetime) -> tuple[int, int]:
    """Failed attempts within FAILURE_WINDOW for the account and for the address."""
    since = naive(now - FAILURE_WINDOW)
    row = (
        LoginAttempt.select(
            fn.COALESCE(fn.SUM((LoginAttempt.email == email).cast("integer")), 0),
            fn.COALESCE(fn.SUM((LoginAttempt.address == address).cast("integer")), 0),
        )
        .where(
            (LoginAttempt.at > since) & ((LoginAttempt.email == email) | (LoginAttempt.address == address))
        )
        .tuples()
        .first()
    )
    return int(row[0]), int(row[1])


def login(email: str, password: str, address: str, now: datetime) -> LoginResult:
    """Check a login.  Refuses (limited=True) once the account or the address
    has MAX_FAILURES failures within FAILURE_WINDOW; records each failure."""
    email = (email or "").strip().lower()[:254]
    address = (address or "")[:64]
    by_account, by_address = failures(email, address, now)
    if by_account >= MAX_FAILURES or by_address >= MAX_FAILURES:
        return LoginResult(None, limited=True)
    operator = Operator.get_or_none((Operator.email == email) & Operator.active) if email else None
    stored = operator.password_hash if operator is not None and operator.password_hash else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password[:MAX_PASSWORD]) and stored is not _DUMMY_HASH
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        with db.atomic():
            LoginAttempt.create(email=email, address=address, at=naive(now))
            # Forget what no longer counts, so the table stays small.
            LoginAttempt.delete().where(LoginAttempt.at < naive(now - FAILURE_WINDOW)).execute()
        return LoginResult(None)
    updates = {Operator.last_login_at: naive(now)}
    if _hasher.check_needs_rehash(stored):
        updates[Operator.password_hash] = _hasher.hash(password)
    Operator.update(updates).where(Operator.id == operator.id).execute()
    return LoginResult(Operator.get_by_id(operator.id))


def by_session_token(token: str) -> Operator | None:
    """The active operator a session cookie names (Flask-Login's user loader)."""
    if not token or len(token) != 64:
        return None
    return Operator.get_or_none((Operator.session_token == token) & Operator.active)


def of_organisation(org_id: int, operator_id: int) -> Operator | None:
    return Operator.get_or_none((Operator.id == operator_id) & (Operator.organisation == org_id))


def list_operators(org_id: int) -> list[Operator]:
    return list(Operator.select().where(Operator.organisation == org_id).order_by(Operator.created_at))


def _admins_left(org_id: int, without: int) -> int:
    return (
        Operator.select()
        .where(
            (Operator.organisation == org_id)
            & (Operator.role == "admin")
            & Operator.active
            & (Operator.id != without)
        )
        .count()
    )


def change_role(actor: Operator, target: Operator, role: str) -> None:
    if role not in ROLES:
        raise OperatorError("役割が正しくありません。")
    if target.role == "admin" and role != "admin" and _admins_left(actor.organisation_id, target.id) == 0:
        raise OperatorError("管理者が一人もいなくなるため、変更できません。")
    Operator.update(role=role).where(Operator.id == target.id).execute()


def set_active(actor: Operator, target: Operator, active: bool) -> None:
    """Stop (or allow again) an operator's access; stopping ends their sessions."""
    if not active and target.id == actor.id:
        raise OperatorError("ご自分の利用を停止することはできません。")
    if not active and target.role == "admin" and _admins_left(actor.organisation_id, target.id) == 0:
        raise OperatorError("管理者が一人もいなくなるため、停止できません。")
    Operator.update(active=active, session_token=secrets.token_hex(32)).where(
        Operator.id == target.id
    ).execute()


def signup_pending(operator: Operator, now: datetime) -> bool:
    return (
        operator.password_hash is None
        and operator.signup_expires_at is not None
        and utc(operator.signup_expires_at) > now
    )
