return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoWhisper.WhisperService.Definition);
