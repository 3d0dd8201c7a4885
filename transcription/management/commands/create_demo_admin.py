from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Create (once) a demo admin account and print how to log in and call the API."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin")

    def handle(self, *args, username: str, password: str, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_superuser(username=username, email="", password=password)
            note = f"password: {password}"
        else:
            note = "password: unchanged (the account already existed)"
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(
            f"Log in at http://127.0.0.1:8000/ as {username} ({note}).\n"
            f"API token: {token.key}  (send as 'Authorization: Bearer {token.key}')"
        )
