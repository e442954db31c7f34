"""``make demo``'s data-sharing contract: keys made for it in the data root, and one contract
for the sample's first municipality, valid this calendar year, so that the demo's ``share``
run delivers a package a reader can open (the summary says how)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from transforms.contracts.keys import (
    PUBLISHER_PRIVATE,
    PUBLISHER_PUBLIC,
    RECIPIENT_PRIVATE,
    generate_key_pair,
    generate_signing_pair,
    write_private_key,
)
from transforms.contracts.register import (
    add_contract,
    list_contracts,
    new_contract,
    open_register,
    units_of,
)
from transforms.pipeline.boundaries import load_current_units
from transforms.plumbing.settings import Settings
from transforms.privacy.policy import load_policy

DEMO_CONTRACT = "demo-municipal"
SIGNING_KEY_VARIABLE = "OPENCRIME_PUBLISHER_SIGNING_KEY_FILE"


@dataclass(frozen=True)
class DemoKeys:
    folder: Path
    publisher_private: Path
    publisher_public: Path
    recipient_private: Path


def demo_keys(settings: Settings) -> DemoKeys:
    folder = settings.data_root / "demo-keys"
    return DemoKeys(
        folder,
        folder / "publisher.key",
        folder / "publisher.pub",
        folder / f"{DEMO_CONTRACT}.key",
    )


def ensure_demo_contract(settings: Settings) -> str:
    """The demo contract's id, registered (with its keys) if it is not yet; the publisher's
    signing key becomes this process's ``OPENCRIME_PUBLISHER_SIGNING_KEY_FILE`` unless one is
    set."""
    keys = demo_keys(settings)
    _name_bare_keys(keys)
    if not keys.publisher_private.exists():
        keys.folder.mkdir(parents=True, exist_ok=True)
        publisher = generate_signing_pair()
        write_private_key(keys.publisher_private, publisher.private)
        keys.publisher_public.write_text(publisher.public + "\n")
    os.environ.setdefault(SIGNING_KEY_VARIABLE, str(keys.publisher_private))
    engine = open_register(settings.contracts_db_url)
    if any(c.id == DEMO_CONTRACT for c in list_contracts(engine)):
        return DEMO_CONTRACT
    recipient = generate_key_pair()
    if keys.recipient_private.exists():
        keys.recipient_private.unlink()  # a key without its contract opens nothing
    write_private_key(keys.recipient_private, recipient.private)
    units = load_current_units(settings)
    first = sorted(units.loc[units["level"] == "municipality", "code"].astype(str))[0]
    year = datetime.now(UTC).year
    add_contract(
        engine,
        new_contract(
            contract_id=DEMO_CONTRACT,
            party=first,
            tier="municipal",
            key=recipient.public,
            valid_from=date(year, 1, 1),
            valid_to=date(year, 12, 31),
            contact="demo@example.invalid",
            policy=load_policy(settings.policy_path)[0],
            geography=units_of(units),
        ),
    )
    return DEMO_CONTRACT


def _name_bare_keys(keys: DemoKeys) -> None:
    """Demo keys written before keys named their kind (bare base64) get the name their file
    always meant, so an earlier demo's packages still open."""
    kinds = {
        keys.publisher_private: PUBLISHER_PRIVATE,
        keys.publisher_public: PUBLISHER_PUBLIC,
        keys.recipient_private: RECIPIENT_PRIVATE,
    }
    for path, kind in kinds.items():
        if path.is_file() and ":" not in (text := path.read_text().strip()):
            path.write_text(f"{kind}:{text}\n")
