"""`kb user add|remove|passwd|link|list`: local accounts for the web app (a `kb` plugin).

Accounts are kept in `<data>/users.json` of the data directory (`--data`, see `indexer.archive.datadir`).
Every change is written to the audit log. Passwords come from a prompt (asked twice) or, for scripts, from one
line of standard input with `--password-stdin`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from indexer.archive import accounts
from indexer.archive.audit import cli_actor, record
from indexer.archive.datadir import DataDir


def register(subparsers) -> list[str]:
    p = subparsers.add_parser("user", help="ログイン用のユーザーを管理する（追加・削除・パスワード変更・話者の結び付け・一覧）")
    sub = p.add_subparsers(dest="user_command", required=True)
    s = sub.add_parser("add", help="ユーザーを追加")
    s.add_argument("name")
    s.add_argument("--role", choices=accounts.ACCOUNT_ROLES, required=True)
    s.add_argument("--speaker", default="", help="このアカウントの話者名（Q&A の「自分への質問」に使う。例: 佐伯一郎）")
    s.add_argument("--password-stdin", action="store_true", help="パスワードを標準入力の 1 行から読む")
    s = sub.add_parser("link", help="アカウントを話者名に結び付ける（空の話者名で解除）")
    s.add_argument("name")
    s.add_argument("speaker", help="話者名（索引に書かれている名前。例: 佐伯一郎）。\"\" で解除")
    s = sub.add_parser("remove", help="ユーザーを削除")
    s.add_argument("name")
    s = sub.add_parser("passwd", help="パスワードを変更")
    s.add_argument("name")
    s.add_argument("--password-stdin", action="store_true", help="パスワードを標準入力の 1 行から読む")
    s = sub.add_parser("list", help="ユーザーの一覧")
    s.add_argument("--json", action="store_true")
    return ["user"]


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    else:
        try:
            password = getpass.getpass("パスワード: ")
            again = getpass.getpass("パスワード（確認）: ")
        except EOFError:
            raise accounts.AccountError("パスワードを読めませんでした（--password-stdin を使えます）。") from None
        if password != again:
            raise accounts.AccountError("パスワードが一致しません。")
    return accounts.check_password(password)


def run(args: argparse.Namespace, data: DataDir) -> int:
    """One `kb user` command on the accounts of `data`."""
    data_dir = data.root
    cmd = args.user_command
    if cmd == "list":
        users = accounts.list_users(data_dir)
        if args.json:
            print(json.dumps(users, ensure_ascii=False, indent=2))
        elif not users:
            print("登録されているユーザーはいません。")
        else:
            for u in users:
                label = accounts.ROLE_LABELS.get(u["role"], u["role"])
                speaker = f"\t話者 {u['speaker']}" if u.get("speaker") else ""
                print(f"{u['name']}\t{label}（{u['role']}）{speaker}\t作成 {u['created']}\t更新 {u['updated']}")
        return 0
    name = accounts.check_name(args.name)
    if cmd == "add":
        speaker = accounts.check_speaker(args.speaker)
        password = _read_password(args)
        accounts.add_user(data_dir, name, args.role, password, speaker=speaker)
        record(data_dir, cli_actor(), "user_add",
               detail=f"name={name} role={args.role}" + (f" speaker={speaker}" if speaker else ""))
        print(f"ユーザーを追加しました: {name}（{accounts.ROLE_LABELS[args.role]}）"
              + (f"、話者「{speaker}」" if speaker else ""))
    elif cmd == "link":
        account = accounts.link_speaker(data_dir, name, args.speaker, actor=cli_actor())
        print(f"話者を結び付けました: {name} → {account.speaker}" if account.speaker
              else f"話者の結び付けを解除しました: {name}")
    elif cmd == "remove":
        accounts.remove_user(data_dir, name)
        record(data_dir, cli_actor(), "user_remove", detail=f"name={name}")
        print(f"ユーザーを削除しました: {name}")
    elif cmd == "passwd":
        if accounts.get_account(data_dir, name) is None:
            raise accounts.AccountError(f"ユーザー「{name}」は登録されていません。")
        password = _read_password(args)
        accounts.set_password(data_dir, name, password)
        record(data_dir, cli_actor(), "user_passwd", detail=f"name={name}")
        print(f"パスワードを変更しました: {name}")
    else:
        return 2
    return 0
