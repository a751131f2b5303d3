using CipherChat.Client;
using CipherChat.Tui.Backend;
using CipherChat.Tui.ViewModels;
using CipherChat.Tui.Views;
using Terminal.Gui.App;

namespace CipherChat.Tui;

/// <summary>Runs the full-screen chat: the first-run form when the client has no account, then the chat screen.</summary>
public static class ChatApp
{
    /// <summary>
    /// Runs until the user quits. Returns false when the user left the first-run form without
    /// registering. Must be called on the thread that owns the terminal.
    /// </summary>
    public static async Task<bool> RunAsync(ChatClient client, string? room, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(time);
        using var app = Application.Create().Init();
        app.Keyboard.KeyDown += (_, key) =>
        {
            if (key == Terminal.Gui.Input.Key.Q.WithCtrl)
            {
                key.Handled = true;
                app.RequestStop();
            }
        };

        if (client.Store.GetAccount() is null)
        {
            using var form = new FirstRunWindow(new FirstRunModel(new ClientRegistrar(client)));
            app.Run(form);
            if (!form.Registered)
            {
                return false;
            }
        }

        await using var backend = new ClientChatBackend(client, time);
        using var vm = new ChatViewModel(backend, time, TimeZoneInfo.Local, action => app.Invoke(action));
        using var window = new ChatWindow(vm, time);
        window.Attach(app);
        using var stop = cancellationToken.Register(() => app.Invoke(() => app.RequestStop()));
        var starting = vm.StartAsync(room, cancellationToken);
        app.Run(window);
        try
        {
            await starting.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Closed before start-up finished.
        }

        return true;
    }
}
