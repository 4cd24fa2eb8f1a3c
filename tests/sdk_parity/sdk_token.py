"""The official Nebius Python SDK (PyPI `nebius`), asked for an IAM token exactly as an
application using it would be: `Config()` reads ~/.nebius/config.yaml and the environment
(NEBIUS_IAM_TOKEN, NEBIUS_PROFILE, NEBIUS_ENDPOINT), `Channel` resolves the credential.

Run by tests/sdk_parity.rs beside crlogin on the same inputs. The one change to the SDK's own
behaviour: `--exchange HOST:PORT` routes its token-exchange service to the loopback stand-in,
over plaintext gRPC. It prints one JSON line: the SHA-256 of the token (never the token) and the
address the SDK itself would dial for the token service under these inputs. A refusal prints
`{"error": "..."}` and exits 3.
"""

import argparse
import hashlib
import json
import sys
import warnings
from pathlib import Path

from nebius.aio.channel import Channel
from nebius.aio.cli_config import Config
from nebius.base.options import INSECURE
from nebius.base.resolver import Single

SERVICE = "nebius.iam.v1.TokenExchangeService"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exchange", help="HOST:PORT of the loopback token exchange")
    parser.add_argument("--impersonate", help="a service account to impersonate")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    try:
        # Without a config file an application builds its Channel with no config reader (which
        # would refuse the missing file); the SDK then reads NEBIUS_IAM_TOKEN.
        has_config = (Path.home() / ".nebius" / "config.yaml").exists()

        def config() -> Config | None:
            if not has_config:
                return None
            return Config(client_id="crlogin-parity", impersonate_service_account_id=args.impersonate)

        own = Channel(config_reader=config(), user_agent_prefix="crlogin-parity")
        token_service = own.get_addr_from_service_name(SERVICE)
        own.sync_close()
        routed = {}
        if args.exchange:
            routed = {
                "resolver": Single(SERVICE, args.exchange),
                "address_options": {args.exchange: [(INSECURE, True)]},
            }
        channel = Channel(config_reader=config(), user_agent_prefix="crlogin-parity", **routed)
        try:
            token = channel.get_token_sync(timeout=20).token
        finally:
            channel.sync_close()
    except Exception as error:  # the SDK's refusal, whatever its class
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 3
    print(json.dumps({"sha256": hashlib.sha256(token.encode()).hexdigest(), "token_service": token_service}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
