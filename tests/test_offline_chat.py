"""The offline chat runs the real Application with the terminal as Telegram."""

from bot.offline import chat
from bot.settings import Settings


async def test_offline_chat_greets_answers_and_presses_buttons(tmp_path):
    settings = Settings.from_env({"DATABASE_PATH": str(tmp_path / "chat.db"), "PSEUDONYM_SECRET": "k" * 32})
    printed: list[str] = []
    await chat(settings, lines=["how many foreign fighters were killed?", "1", "كم أردني قتل؟", ">quit"],
               out=printed.append)
    screen = "\n".join(printed)
    assert "Welcome" in screen
    assert "[1]" in screen  # buttons are numbered
    assert "3,300" in screen
    assert any("\u0600" <= ch <= "\u06ff" for ch in screen)
    assert "went wrong" not in screen and "حدث خطأ" not in screen
